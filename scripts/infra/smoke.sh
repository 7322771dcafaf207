#!/usr/bin/env bash
# Prove each local server works, through the same client libraries the services use.
# Expects `scripts/infra/all.sh up` to have run. Prints one line per check and a closing
# "N passed, N failed" line; exits non-zero if any check failed.
set -euo pipefail
INFRA_NAME=smoke
# shellcheck source=./lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SMOKE_TIMEOUT="${ADSEED_SMOKE_TIMEOUT:-90}"
passed=0
failed=0

check() {
  local name="$1" t0=$SECONDS
  shift
  local rc=0
  timeout "$SMOKE_TIMEOUT" "$@" || rc=$?
  if ((rc == 0)); then
    passed=$((passed + 1))
    log "PASS $name ($((SECONDS - t0))s)"
  else
    failed=$((failed + 1))
    log "FAIL $name ($((SECONDS - t0))s; exit $rc$( ((rc == 124)) && echo ", timed out after ${SMOKE_TIMEOUT}s"))"
  fi
}

cd "$REPO_ROOT"
check kafka node scripts/infra/smoke/kafka.mjs
check minio node scripts/infra/smoke/minio.mjs
check kserve node scripts/infra/smoke/kserve.mjs
check qdrant-shim node scripts/infra/smoke/qdrant.mjs
check qdrant-shim-unit "$INFRA_VENV/bin/python" -m unittest discover -s test/infra-shims -q
check triton-config "$INFRA_VENV/bin/python" scripts/infra/check_triton_config.py deploy/triton/model_repository
echo "smoke: $passed passed, $failed failed"
((failed == 0))
