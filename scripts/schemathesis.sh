#!/usr/bin/env bash
# Contract test: Schemathesis (PyPI) generates requests from the served OpenAPI document of the
# embedded product and checks every response against it (status codes, headers, bodies, content
# types, SSE events), in all its phases: examples, coverage, fuzzing and stateful links. Any
# failure fails the script. A stage of `npm test` (6 examples, 240 s); `npm run test:contract`
# runs it longer.
#   bash scripts/schemathesis.sh [extra `st run` options]
# Starts `services/standalone/dist/main.js` (the `npm start` product, built beforehand) on a free
# port with a temporary data dir, no demo library and the toy CLIP model, seeds it through the API
# (scripts/schemathesis-seed.js: photos, a brand, a conversation, an ad, a job, an experiment,
# offered to Schemathesis as dictionaries of real ids and paths), and stops it on exit.
# scripts/schemathesis.toml holds the settings and the few allowances, each with its reason;
# scripts/schemathesis_hooks.py what JSON Schema cannot say.
# Bounded in time: SCHEMATHESIS_MAX_EXAMPLES per operation (default 6) and a wall-clock limit of
# SCHEMATHESIS_TIMEOUT seconds (default 240; reaching it fails the run). The venv is cached under
# .cache/schemathesis/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
VERSION=4.32.5
VENV=.cache/schemathesis/venv-$VERSION
if [ ! -x "$VENV/bin/st" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
fi

DATA=$(mktemp -d)
LOG="$DATA/server.log"
PORT=$(node -e "const s=require('node:net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
SERVER=
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$DATA"
}
trap cleanup EXIT
# No demo library, the generated toy CLIP model and the cached caption model: start-up is seconds.
LOG_FORMAT=json LOG_LEVEL=warn ADSEED_DATA_DIR="$DATA/data" PORT="$PORT" HOST=127.0.0.1 ADSEED_DEMO_LIBRARY= \
  ADSEED_CLIP_MODEL_DIR="$ROOT/.cache/models/clip-toy" ADSEED_CACHE_DIR="$ROOT/.cache" \
  node services/standalone/dist/main.js >"$LOG" 2>&1 &
SERVER=$!
URL="http://127.0.0.1:$PORT"
for _ in $(seq 1 120); do
  if curl -fsS "$URL/docs/openapi.json" -o /dev/null 2>/dev/null; then break; fi
  if ! kill -0 "$SERVER" 2>/dev/null; then cat "$LOG" >&2; echo "the product did not start" >&2; exit 1; fi
  sleep 0.5
done

# Real resources to test against: their ids and paths become dictionaries in this run's config.
CONFIG="$DATA/schemathesis.toml"
cp scripts/schemathesis.toml "$CONFIG"
node scripts/schemathesis-seed.js "$URL" >>"$CONFIG"

set +e
SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH="$ROOT/scripts" \
  timeout --signal=INT "${SCHEMATHESIS_TIMEOUT:-240}" "$VENV/bin/st" --config-file "$CONFIG" run "$URL/docs/openapi.json" \
  --url "$URL" \
  --phases examples,coverage,fuzzing,stateful \
  --checks all \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-6}" \
  --generation-deterministic \
  --request-timeout 30 \
  --max-response-time 30 \
  --no-color \
  "$@"
status=$?
set -e
if [ "$status" -eq 124 ] || [ "$status" -eq 130 ]; then
  echo "schemathesis: stopped by the ${SCHEMATHESIS_TIMEOUT:-240}s wall-clock limit" >&2
fi
if [ "$status" -ne 0 ]; then
  echo "--- server log (last 40 lines)" >&2; tail -n 40 "$LOG" >&2
fi
exit "$status"
