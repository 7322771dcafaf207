#!/usr/bin/env bash
# Start or stop every local server the integration tests need.
#
#   scripts/infra/all.sh up|down|status|install
#
# Order matters on the way up: MinIO's Kafka notification target needs the broker.
set -euo pipefail
INFRA_NAME=all
# shellcheck source=./lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SERVERS=(kafka minio kserve qdrant-shim)

run_each() {
  local action="$1" server rc=0
  shift
  for server in "$@"; do
    local t0=$SECONDS
    if bash "$INFRA_SCRIPTS_DIR/$server.sh" "$action"; then
      log "$server $action: done in $((SECONDS - t0))s"
    else
      log "$server $action: FAILED after $((SECONDS - t0))s"
      rc=1
      # Going up, later servers may depend on this one; going down, stop the rest anyway.
      [[ "$action" == "stop" || "$action" == "status" ]] || return 1
    fi
  done
  return "$rc"
}

reversed() {
  local i
  for ((i = ${#SERVERS[@]} - 1; i >= 0; i--)); do printf '%s\n' "${SERVERS[i]}"; done
}

case "${1:-}" in
  install) run_each install "${SERVERS[@]}" ;;
  up) run_each start "${SERVERS[@]}" ;;
  down) mapfile -t down < <(reversed); run_each stop "${down[@]}" ;;
  status) run_each status "${SERVERS[@]}" ;;
  *) echo "usage: $0 up|down|status|install" >&2; exit 2 ;;
esac
