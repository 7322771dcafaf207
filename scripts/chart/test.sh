#!/usr/bin/env bash
# Offline checks of charts/adseed: for every value set in charts/adseed/ci/, helm lint --strict,
# helm template for each Kubernetes version in KUBE_VERSIONS, validation of every object against
# that version's API schemas (ServiceMonitor against the prometheus-operator CRD), pod policy
# checks and targeted assertions; then that the fail guards and values.schema.json reject bad
# values, that the README's Parameters table is current and the Grafana dashboard is sound.
# Tools are installed once into .cache/tools (scripts/chart/tools.sh). Exit status: failures > 0.
#   bash scripts/chart/test.sh            KUBE_VERSIONS="1.29.0 1.33.0" by default
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"
started=$SECONDS
KUBE_VERSIONS="${KUBE_VERSIONS:-1.29.0 1.33.0}"

# shellcheck source=scripts/chart/tools.sh
source "$repo/scripts/chart/tools.sh"

work="$repo/.cache/chart"
rm -rf "$work" && mkdir -p "$work/out" "$work/bad"
# Helm refuses to render a chart whose declared dependencies are not vendored in charts/, and no
# chart repository is reachable here: test a copy without the (all disabled) dependency list.
cp -r charts/adseed "$work/adseed"
"$CHART_PYTHON" - "$work/adseed/Chart.yaml" <<'PY'
import sys, yaml
path = sys.argv[1]
chart = yaml.safe_load(open(path))
chart.pop("dependencies", None)
yaml.safe_dump(chart, open(path, "w"), sort_keys=False)
PY
chart="$work/adseed"

passed=0
failed=0
failures=()
ok() { passed=$((passed + 1)); printf 'ok    %s\n' "$1"; }
not_ok() {
  failed=$((failed + 1)); failures+=("$1"); printf 'FAIL  %s\n' "$1"
  [[ -z "${2:-}" ]] || printf '%s\n' "$2" | sed 's/^/      /' | head -n 40
}
# check NAME CMD...: passes when CMD exits 0.
check() {
  local name="$1" out; shift
  if out="$("$@" 2>&1)"; then ok "$name"; else not_ok "$name" "$out"; fi
}
# expect_render_failure NAME REGEX HELM-ARGS...: helm template must fail with a message matching REGEX.
expect_render_failure() {
  local name="$1" pattern="$2" out; shift 2
  if out="$("$HELM" template adseed "$chart" "$@" 2>&1)"; then
    not_ok "$name" "rendered although it should have been rejected"
  elif grep -Eq -- "$pattern" <<<"$out"; then ok "$name"
  else not_ok "$name" "failed, but without /$pattern/: $out"; fi
}
# expect_equal NAME MANIFEST KIND OBJECT PATH EXPECTED-JSON
expect_equal() {
  local name="$1" actual; shift
  if ! actual="$("$CHART_PYTHON" scripts/chart/manifests.py get "$1" "$2" "$3" "$4" 2>&1)"; then not_ok "$name" "$actual"
  elif [[ "$actual" == "$5" ]]; then ok "$name"
  else not_ok "$name" "expected $5, got $actual"; fi
}
get() { "$CHART_PYTHON" scripts/chart/manifests.py get "$@"; }

echo "== values documentation"
# Bitnami's readme-generator-for-helm (devDependency, offline): regenerate the Parameters tables
# into a copy of the README and compare. It also refuses a value without a `## @param` and a
# @param without a value; that every value is in values.schema.json is helm lint --strict's job
# below (the schema allows no unknown keys).
readme_generator="$repo/node_modules/.bin/readme-generator"
mkdir -p "$work/readme"
cp charts/adseed/README.md "$work/readme/README.md"
if ! out="$("$readme_generator" --values charts/adseed/values.yaml --readme "$work/readme/README.md" 2>&1)"; then
  not_ok "README Parameters tables match values.yaml" "$out"
elif out="$(diff -u charts/adseed/README.md "$work/readme/README.md")"; then ok "README Parameters tables match values.yaml"
else not_ok "README Parameters tables match values.yaml" "charts/adseed/README.md is stale: run npm run chart:readme"$'\n'"$out"; fi
cp charts/adseed/values.yaml "$work/readme/undocumented.yaml"
printf 'undocumentedKey: 1\n' >>"$work/readme/undocumented.yaml"
expect_missing_metadata() {
  local name="$1" values="$2" pattern="$3" out
  if out="$("$readme_generator" --values "$values" --readme "$work/readme/README.md" 2>&1)"; then not_ok "$name" "the generator accepted it"
  elif grep -q -- "$pattern" <<<"$out"; then ok "$name"
  else not_ok "$name" "failed, but without /$pattern/: $out"; fi
}
expect_missing_metadata "the README generator rejects a value without @param" "$work/readme/undocumented.yaml" "Missing metadata for key: undocumentedKey"
sed 's/^logLevel: info$/logLevel: info\n## @param notAValue Documented, but not in values.yaml/' charts/adseed/values.yaml >"$work/readme/stray.yaml"
expect_missing_metadata "the README generator rejects a @param without a value" "$work/readme/stray.yaml" "Metadata provided for non existing key: notAValue"

echo "== consumed topics"
check "the chart's consumed-topics table matches libs/contracts and the services' groups" node scripts/chart/check-topics.js

for values in charts/adseed/ci/*.yaml; do
  set_name="$(basename "$values" .yaml)"
  echo "== value set $set_name"
  check "$set_name: helm lint --strict" "$HELM" lint --strict "$chart" -f "$values"
  if out="$("$HELM" install adseed "$chart" -f "$values" --dry-run=client 2>&1)" && grep -q '^NOTES:' <<<"$out" && ! grep -q '<no value>' <<<"$out"; then
    ok "$set_name: NOTES.txt renders"
  else not_ok "$set_name: NOTES.txt renders" "$(tail -n 20 <<<"$out")"; fi
  for kv in $KUBE_VERSIONS; do
    manifest="$work/out/$set_name-$kv.yaml"
    if ! out="$("$HELM" template adseed "$chart" -f "$values" --namespace adseed --kube-version "$kv" 2>&1 >"$manifest")"; then
      not_ok "$set_name: helm template (Kubernetes $kv)" "$out"; continue
    fi
    ok "$set_name: helm template (Kubernetes $kv)"
    check "$set_name: API schemas and pod policies (Kubernetes $kv)" \
      "$CHART_PYTHON" scripts/chart/manifests.py validate "$manifest" --kube-version "$kv" --crd-out "$manifest.crd.json"
    check "$set_name: custom resources against their CRD schemas" node scripts/chart/validate-crds.js "$manifest.crd.json" "$CRD_MODULES"
  done
done

echo "== targeted assertions"
first_kv="${KUBE_VERSIONS%% *}"
d="$work/out/defaults-$first_kv.yaml"
g="$work/out/gpu-autoscaling-$first_kv.yaml"
x="$work/out/external-tls-$first_kv.yaml"
if [[ -f "$d" && -f "$g" && -f "$x" ]]; then
  expect_equal "defaults: in-process ONNX encoder" "$d" ConfigMap adseed-embedding data.ADSEED_ENCODER '"onnx"'
  expect_equal "defaults: embedding pods get the model tree from model-init" "$d" Deployment adseed-embedding spec.template.spec.initContainers.0.args '["onnx", "/models"]'
  expect_equal "defaults: gateway readiness on /readyz" "$d" Deployment adseed-gateway spec.template.spec.containers.0.readinessProbe.httpGet.path '"/readyz"'
  triton_gpu="$(get "$g" Deployment adseed-triton spec.template.spec.containers.0.resources.limits 2>&1 || true)"
  if grep -q '"nvidia.com/gpu": 1' <<<"$triton_gpu"; then ok "gpu-autoscaling: nvidia.com/gpu limit on Triton"; else not_ok "gpu-autoscaling: nvidia.com/gpu limit on Triton" "$triton_gpu"; fi
  expect_equal "gpu-autoscaling: Triton on the GPU pool" "$g" Deployment adseed-triton spec.template.spec.nodeSelector '{"cloud.google.com/gke-accelerator": "nvidia-l4"}'
  expect_equal "gpu-autoscaling: embedding talks to the release's Triton" "$g" ConfigMap adseed-embedding data.TRITON_ENDPOINTS '"adseed-triton:8001"'
  batching="$(get "$g" ConfigMap adseed-triton-models data 2>&1 || true)"
  if grep -q 'preferred_batch_size: \[ 16, 32 \]' <<<"$batching" && grep -q 'KIND_GPU' <<<"$batching"; then
    ok "gpu-autoscaling: dynamic batching in config.pbtxt"; else not_ok "gpu-autoscaling: dynamic batching in config.pbtxt" "$batching"; fi
  hpas="$(grep -c '^kind: HorizontalPodAutoscaler' "$g" || true)"
  if [[ "$hpas" == 6 ]]; then ok "gpu-autoscaling: six HPAs"; else not_ok "gpu-autoscaling: six HPAs" "found $hpas"; fi
  # Under an HPA the Deployment must not set replicas, or every upgrade resets the scale.
  if get "$g" Deployment adseed-gateway spec.replicas >/dev/null 2>&1; then not_ok "gpu-autoscaling: replicas unset under HPA" "spec.replicas is set"
  elif get "$g" Deployment adseed-gateway spec.template >/dev/null 2>&1; then ok "gpu-autoscaling: replicas unset under HPA"
  else not_ok "gpu-autoscaling: replicas unset under HPA" "no Deployment adseed-gateway"; fi
  expect_equal "external-tls: Kafka over TLS with SCRAM" "$x" ConfigMap adseed-gateway data.KAFKA_SASL_MECHANISM '"scram-sha-512"'
  expect_equal "external-tls: KAFKA_SSL" "$x" ConfigMap adseed-agent data.KAFKA_SSL '"true"'
  expect_equal "external-tls: SASL password from the secret" "$x" Deployment adseed-agent spec.template.spec.containers.0.env.1 \
    '{"name": "KAFKA_SASL_PASSWORD", "valueFrom": {"secretKeyRef": {"key": "password", "name": "adseed-kafka"}}}'
  expect_equal "external-tls: Ingress TLS covers the hosts" "$x" Ingress adseed-gateway spec.tls \
    '[{"hosts": ["ads.example.com", "api.ads.example.com"], "secretName": "adseed-gateway-tls"}]'
  expect_equal "external-tls: external Triton endpoints" "$x" ConfigMap adseed-embedding data.TRITON_ENDPOINTS \
    '"triton-0.inference.example.com:8001,triton-1.inference.example.com:8001"'
  expect_equal "external-tls: egress closed" "$x" NetworkPolicy adseed-retrieval spec.policyTypes '["Ingress", "Egress"]'
  expect_equal "external-tls: image pinned by digest" "$x" Deployment adseed-gateway spec.template.spec.containers.0.image \
    '"registry.example.com/adseed/adseed-gateway@sha256:0000000000000000000000000000000000000000000000000000000000000001"'
  s="$work/out/scale-100m-$first_kv.yaml"
  if [[ -f "$s" ]]; then
    expect_equal "scale-100m: topics created with 24 partitions" "$s" ConfigMap adseed-retrieval data.KAFKA_TOPIC_PARTITIONS '"24"'
    expect_equal "scale-100m: ingest topic overridden to 48" "$s" ConfigMap adseed-embedding data.KAFKA_TOPIC_PARTITIONS_OVERRIDES '"adseed.asset.ingest-requested.v1=48"'
    expect_equal "scale-100m: KEDA scales embedding on its group's lag" "$s" ScaledObject adseed-embedding spec.triggers.0.metadata.consumerGroup '"embedding"'
    expect_equal "scale-100m: KEDA follows embedding's second group too" "$s" ScaledObject adseed-embedding spec.triggers.1.metadata.consumerGroup '"embedding-storage-bridge"'
    expect_equal "scale-100m: KEDA at most 24 embedding replicas" "$s" ScaledObject adseed-embedding spec.maxReplicaCount '24'
    expect_equal "scale-100m: KEDA authenticates with the Kafka SASL secret" "$s" TriggerAuthentication adseed-kafka spec.secretTargetRef.1 \
      '{"key": "password", "name": "adseed-kafka", "parameter": "password"}'
    expect_equal "scale-100m: KEDA speaks SCRAM-SHA-512 over TLS" "$s" ScaledObject adseed-embedding spec.triggers.0.metadata \
      '{"allowIdleConsumers": "false", "bootstrapServers": "b-1.kafka.example.com:9096,b-2.kafka.example.com:9096,b-3.kafka.example.com:9096", "consumerGroup": "embedding", "lagThreshold": "200", "offsetResetPolicy": "earliest", "sasl": "scram_sha512", "tls": "enable"}'
    if get "$s" Deployment adseed-embedding spec.replicas >/dev/null 2>&1; then not_ok "scale-100m: replicas unset under KEDA" "spec.replicas is set"
    else ok "scale-100m: replicas unset under KEDA"; fi
    expect_equal "scale-100m: gateway rate limit per replica" "$s" ConfigMap adseed-gateway data.ADSEED_RATE_LIMIT_BURST '"300"'
  else
    not_ok "scale-100m assertions" "the scale-100m value set did not render"
  fi
  # /metrics names tenants (gateway): served on its own port, scraped there, never on the Ingress's.
  expect_equal "defaults: every service serves /metrics on METRICS_PORT" "$d" ConfigMap adseed-retrieval data.METRICS_PORT '"9090"'
  expect_equal "defaults: the gateway's metrics port" "$d" Service adseed-gateway spec.ports.1 '{"name": "metrics", "port": 9090, "protocol": "TCP", "targetPort": "metrics"}'
  annotations="$(get "$d" Deployment adseed-gateway spec.template.metadata.annotations 2>&1 || true)"
  if grep -q '"prometheus.io/port": "9090"' <<<"$annotations"; then ok "defaults: prometheus.io annotations name the metrics port"
  else not_ok "defaults: prometheus.io annotations name the metrics port" "$annotations"; fi
  expect_equal "gpu-autoscaling: ServiceMonitor scrapes the metrics port" "$g" ServiceMonitor adseed-metrics spec.endpoints.0.port '"metrics"'
  expect_equal "gpu-autoscaling: metricsFrom peers reach the metrics port only" "$g" NetworkPolicy adseed-gateway spec.ingress.1.ports '[{"port": "metrics", "protocol": "TCP"}]'
  expect_equal "defaults: topics keep their built-in partitions" "$d" ConfigMap adseed-agent data.KAFKA_TOPIC_PARTITIONS '"0"'
  if grep -q '^kind: ScaledObject' "$d"; then not_ok "defaults: no KEDA objects" "found a ScaledObject"; else ok "defaults: no KEDA objects"; fi
  # checksum/config must follow the configuration, and only the affected service's.
  "$HELM" template adseed "$chart" --namespace adseed --kube-version "$first_kv" --set embedding.batchSize=32 >"$work/out/changed.yaml"
  a_gw="$(get "$d" Deployment adseed-gateway spec.template.metadata.annotations)"
  b_gw="$(get "$work/out/changed.yaml" Deployment adseed-gateway spec.template.metadata.annotations)"
  a_em="$(get "$d" Deployment adseed-embedding spec.template.metadata.annotations)"
  b_em="$(get "$work/out/changed.yaml" Deployment adseed-embedding spec.template.metadata.annotations)"
  if [[ "$a_em" != "$b_em" && "$a_gw" == "$b_gw" ]]; then ok "checksum/config rolls only the reconfigured service"
  else not_ok "checksum/config rolls only the reconfigured service" "embedding: $a_em -> $b_em; gateway: $a_gw -> $b_gw"; fi
else
  not_ok "targeted assertions" "a value set did not render"
fi

echo "== more renderings"
variant() { # NAME HELM-ARGS...: renders and validates against the newest KUBE_VERSIONS entry
  local name="$1" kv="${KUBE_VERSIONS##* }" manifest="$work/out/variant-$RANDOM.yaml" out; shift
  if ! out="$("$HELM" template adseed "$chart" --kube-version "$kv" "$@" 2>&1 >"$manifest")"; then not_ok "$name" "$out"; return; fi
  check "$name" "$CHART_PYTHON" scripts/chart/manifests.py validate "$manifest" --kube-version "$kv" --crd-out "$manifest.crd.json"
}
variant "Triton reading its repository from S3" --set triton.enabled=true --set embedding.encoder=triton \
  --set triton.modelRepository.source=s3 --set triton.modelRepository.s3.url=s3://minio:9000/adseed-models/triton \
  --set triton.modelRepository.s3.existingSecret=adseed-models
variant "Triton from a PVC on CPU" --set triton.enabled=true --set embedding.encoder=triton --set triton.gpus=0 \
  --set triton.modelRepository.source=pvc --set triton.modelRepository.pvc.existingClaim=triton-models
variant "in-release Kafka, MinIO and Qdrant (conventional names, subcharts not vendored)" \
  --set kafka.enabled=true --set minio.enabled=true --set qdrant.enabled=true
variant "embedded index, one retrieval replica" --set retrieval.index=embedded
variant "ingress without TLS or hosts" --set gateway.ingress.enabled=true
variant "KEDA on every consumer, in-release Kafka without SASL" --set kafka.enabled=true \
  --set embedding.keda.enabled=true --set retrieval.keda.enabled=true --set agent.keda.enabled=true --set generation.keda.enabled=true
variant "more retrieval replicas once every topic it consumes has enough partitions" --set retrieval.replicaCount=8 \
  --set topics.partitions=4 --set 'topics.overrides.adseed\.asset\.embedded\.v1=8' --set 'topics.overrides.adseed\.asset\.deleted\.v1=8' \
  --set 'topics.overrides.adseed\.retrieval\.search-requested\.v1=8' --set 'topics.overrides.adseed\.retrieval\.asset-requested\.v1=8'

tok="$work/out/metrics-token.yaml"
if "$HELM" template adseed "$chart" --namespace adseed --kube-version "$first_kv" --set metrics.serviceMonitor.enabled=true \
  --set metrics.token.existingSecret=adseed-metrics >"$tok" 2>"$tok.err"; then
  expect_equal "metrics token: the ServiceMonitor sends it" "$tok" ServiceMonitor adseed-metrics spec.endpoints.0.authorization \
    '{"credentials": {"key": "token", "name": "adseed-metrics"}, "type": "Bearer"}'
  token_env="$(get "$tok" Deployment adseed-agent spec.template.spec.containers.0.env 2>&1 || true)"
  if grep -q '"ADSEED_METRICS_TOKEN"' <<<"$token_env"; then ok "metrics token: every service reads ADSEED_METRICS_TOKEN from the secret"
  else not_ok "metrics token: every service reads ADSEED_METRICS_TOKEN from the secret" "$token_env"; fi
else not_ok "metrics token renders" "$(cat "$tok.err")"; fi

echo "== fail guards"
expect_render_failure "guard: encoder=triton without Triton or endpoints" 'embedding.encoder=triton' --set embedding.encoder=triton
printf 'externalKafka:\n  brokers: []\n' >"$work/bad/no-kafka.yaml"
expect_render_failure "guard: Kafka disabled without external brokers" 'externalKafka.brokers' -f "$work/bad/no-kafka.yaml"
expect_render_failure "guard: SASL without a secret" 'externalKafka.sasl.existingSecret' --set externalKafka.sasl.mechanism=plain
expect_render_failure "guard: ingress TLS without hosts" 'ingress.hosts' --set gateway.ingress.enabled=true --set gateway.ingress.tls.enabled=true
expect_render_failure "guard: embedded index with two replicas" 'index=embedded' --set retrieval.index=embedded --set retrieval.replicaCount=2
expect_render_failure "guard: qdrant without URL" 'externalQdrant.url' --set externalQdrant.url=
expect_render_failure "guard: Replicate without a token secret" 'replicate.existingSecret' --set generation.generator=replicate
expect_render_failure "guard: OpenAI without a key secret" 'openai.existingSecret' --set agent.llm=openai
expect_render_failure "guard: Triton s3 repository without URL" 'modelRepository.s3.url' \
  --set triton.enabled=true --set triton.modelRepository.source=s3
expect_render_failure "guard: preferred batch above a model's max batch size" 'max batch size 32 of model clip_image' \
  --set triton.enabled=true --set 'triton.dynamicBatching.preferredBatchSizes={16,64}'
expect_render_failure "guard: Triton PVC repository without a claim" 'pvc.existingClaim' \
  --set triton.enabled=true --set triton.modelRepository.source=pvc

expect_render_failure "guard: more replicas than a consumed topic's partitions" 'retrieval.replicaCount=4 is more than the 3 partitions of adseed.asset.deleted.v1' \
  --set retrieval.replicaCount=4
expect_render_failure "guard: gateway replicas above its job-outcome topics' partitions" 'gateway.replicaCount=8 is more than the 6 partitions' \
  --set gateway.replicaCount=8
expect_render_failure "guard: HPA maximum above the partitions" 'agent.autoscaling.maxReplicas=6 is more than the 4 partitions' \
  --set agent.autoscaling.enabled=true --set agent.autoscaling.maxReplicas=6 --set topics.partitions=4
expect_render_failure "guard: KEDA maximum above a per-topic override" 'embedding.keda.maxReplicas=8 is more than the 6 partitions of adseed.storage.object-events.v1' \
  --set embedding.keda.enabled=true --set embedding.keda.maxReplicas=8 --set topics.partitions=12 --set 'topics.overrides.adseed\.storage\.object-events\.v1=6'
expect_render_failure "guard: KEDA and an HPA on the same service" 'both scale the same Deployment' \
  --set generation.keda.enabled=true --set generation.autoscaling.enabled=true
expect_render_failure "guard: KEDA minimum above its maximum" 'keda.minReplicas \(3\) is above' \
  --set agent.keda.enabled=true --set agent.keda.minReplicas=3 --set agent.keda.maxReplicas=2

echo "== values schema"
expect_render_failure "schema: unknown top-level key" "additional properties 'replicas' not allowed" --set replicas=3
expect_render_failure "schema: unknown nested key" "additional properties 'tlsSecret' not allowed" --set gateway.ingress.tlsSecret=x
expect_render_failure "schema: wrong type" 'want integer' --set gateway.replicaCount=two
expect_render_failure "schema: value outside the enum" 'embedding/encoder' --set embedding.encoder=gpu
expect_render_failure "schema: malformed broker" 'externalKafka/brokers' --set 'externalKafka.brokers={kafka}'
expect_render_failure "schema: a topic with 0 partitions" 'topics/overrides' --set 'topics.overrides.adseed\.asset\.indexed\.v1=0'
if out="$("$HELM" lint --strict "$chart" --set replicas=3 2>&1)"; then not_ok "schema: helm lint fails on an unknown key" "$out"
else ok "schema: helm lint fails on an unknown key"; fi

echo "== container recipes and scripts"
check "hadolint docker/*Dockerfile" "$HADOLINT" docker/Dockerfile docker/model-init.Dockerfile
check "shellcheck docker/model-init.sh scripts/chart/*.sh" "$SHELLCHECK" -x docker/model-init.sh scripts/chart/test.sh scripts/chart/tools.sh

echo "== Grafana dashboard"
check "deploy/grafana/adseed-dashboard.json uses only the agreed metrics" node scripts/chart/check-dashboard.js

echo
echo "chart checks took $((SECONDS - started))s"
if ((failed > 0)); then printf 'failed: %s\n' "${failures[@]}"; fi
echo "$passed passed, $failed failed"
((failed == 0))
