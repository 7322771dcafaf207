#!/usr/bin/env bash
# TEST SHIM, NOT PRODUCT: a Qdrant-compatible REST subset over PyPI qdrant-edge-py (Qdrant's
# engine embedded), for integration tests; see test/infra-shims/qdrant_edge_shim.py.
#
#   scripts/infra/qdrant-shim.sh install|start|stop|status
#
# Environment (defaults in brackets):
#   ADSEED_QDRANT_PORT           [16333]
#   ADSEED_QDRANT_START_TIMEOUT  [30]
set -euo pipefail
INFRA_NAME=qdrant-shim
# shellcheck source=./lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT="${ADSEED_QDRANT_PORT:-16333}"
START_TIMEOUT="${ADSEED_QDRANT_START_TIMEOUT:-30}"
HOME_DIR="$INFRA_CACHE/qdrant-shim"
SHIM="$REPO_ROOT/test/infra-shims/qdrant_edge_shim.py"

install() { ensure_venv "$INFRA_SCRIPTS_DIR/requirements-qdrant-shim.txt"; }

ready() { curl -fsS -m 2 "http://127.0.0.1:$PORT/readyz" >/dev/null; }

start() {
  if pid="$(running_pid qdrant-shim)"; then
    log "already running (pid $pid) on http://127.0.0.1:$PORT"
    return 0
  fi
  require_cmd curl
  install
  fail_if_port_taken "$PORT" "Qdrant shim REST"
  mkdir -p "$HOME_DIR/data"
  local t0=$SECONDS
  start_daemon qdrant-shim "$HOME_DIR/qdrant-shim.log" \
    "$INFRA_VENV/bin/python" "$SHIM" --host 127.0.0.1 --port "$PORT" --data-dir "$HOME_DIR/data"
  wait_until "$START_TIMEOUT" "http://127.0.0.1:$PORT/readyz" qdrant-shim ready
  log "ready after $((SECONDS - t0))s on http://127.0.0.1:$PORT (data $HOME_DIR/data)"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop_daemon qdrant-shim 15 ;;
  status) status_daemon qdrant-shim "$PORT" ;;
  *) usage_and_exit ;;
esac
