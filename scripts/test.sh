#!/usr/bin/env bash
# The one test command (README: `npm ci && npm test`). Builds, checks the committed OpenAPI spec,
# prepares what the tests need (the caption model from Maven Central, a generated CLIP-shaped
# model, Debian's chromium), then runs every layer with node's test runner: unit specs beside the
# code, end-to-end specs through the REST API, and the web UI in a real browser.
set -euo pipefail
cd "$(dirname "$0")/.."
stage() { printf '\n== %s (%ss)\n' "$1" "$SECONDS"; }

stage build
npm run build --silent
stage "openapi spec"
node scripts/openapi.js --check
stage "browser for the web-UI test"
bash scripts/install-chromium.sh
stage "helm chart: lint, render, validate offline (no cluster can run here)"
bash scripts/chart/test.sh
stage "tests"
mapfile -t specs < <(find libs services -path '*/node_modules' -prune -o -path '*/dist/*' -name '*.spec.js' -print | sort)
node --test --test-concurrency=2 --test-timeout=600000 "${specs[@]}" scripts/chart/dockerfile-sources.test.js
stage done
