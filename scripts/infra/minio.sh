#!/usr/bin/env bash
# MinIO (S3) on 127.0.0.1, built from source with `go install` (no registry ships the binary)
# and cached under .cache/infra/bin/. Its Kafka notification target ADSEED is configured from
# the environment; buckets opt in with arn:minio:sqs::ADSEED:kafka (e.g. the Node client's
# setBucketNotification).
#
#   scripts/infra/minio.sh install|start|stop|status
#
# Environment (defaults in brackets):
#   MINIO_ROOT_USER / MINIO_ROOT_PASSWORD   [adseed / adseed-secret]
#   ADSEED_MINIO_PORT                       [19000]
#   ADSEED_MINIO_CONSOLE_PORT               [19001]
#   ADSEED_MINIO_NOTIFY_TOPIC               [adseed.storage.object-events.v1]
#   ADSEED_KAFKA_PORT                       [19092]  broker the notifications go to
#   ADSEED_MINIO_START_TIMEOUT              [60]
set -euo pipefail
INFRA_NAME=minio
# shellcheck source=./lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# RELEASE.2025-04-22T22-12-26Z. The module proxy only serves MinIO (non-semver RELEASE tags)
# by pseudo-version, so the pin is the tag's commit. The upstream repository is archived
# (AGPL-3.0); this is the last release line that builds cleanly with our Go toolchain.
MINIO_MODULE="github.com/minio/minio"
MINIO_VERSION="v0.0.0-20250422221226-0d7408fc9969"
MINIO_RELEASE="RELEASE.2025-04-22T22-12-26Z"

PORT="${ADSEED_MINIO_PORT:-19000}"
CONSOLE_PORT="${ADSEED_MINIO_CONSOLE_PORT:-19001}"
TOPIC="${ADSEED_MINIO_NOTIFY_TOPIC:-adseed.storage.object-events.v1}"
KAFKA_PORT="${ADSEED_KAFKA_PORT:-19092}"
START_TIMEOUT="${ADSEED_MINIO_START_TIMEOUT:-60}"
HOME_DIR="$INFRA_CACHE/minio"
DATA_DIR="$HOME_DIR/data"
BIN="$INFRA_BIN/minio"
STAMP="$INFRA_BIN/minio.version"

install() {
  if [[ -x "$BIN" && -f "$STAMP" && "$(cat "$STAMP")" == "$MINIO_VERSION" ]]; then
    log "minio $MINIO_RELEASE already built at $BIN"
    return 0
  fi
  require_cmd go
  mkdir -p "$INFRA_BIN"
  local gobin
  gobin="$(mktemp -d "$INFRA_BIN/.build.XXXXXX")"
  log "go install $MINIO_MODULE@$MINIO_VERSION ($MINIO_RELEASE): compiling takes several minutes on 2 cores"
  if ! GOBIN="$gobin" go install "$MINIO_MODULE@$MINIO_VERSION"; then
    rm -rf "$gobin"
    die "go install of MinIO failed (is the Go module proxy reachable? does this Go ($(go env GOVERSION)) build it?)"
  fi
  mv -f "$gobin/minio" "$BIN"
  rm -rf "$gobin"
  echo "$MINIO_VERSION" >"$STAMP"
  log "built $BIN ($(du -h "$BIN" | cut -f1))"
}

live() { curl -fsS -m 2 "http://127.0.0.1:$PORT/minio/health/live" >/dev/null; }

start() {
  if pid="$(running_pid minio)"; then
    log "already running (pid $pid) on http://127.0.0.1:$PORT"
    return 0
  fi
  require_cmd curl
  install
  fail_if_port_taken "$PORT" "MinIO S3 API"
  fail_if_port_taken "$CONSOLE_PORT" "MinIO console"
  mkdir -p "$DATA_DIR"
  # MinIO opens files with O_DIRECT, which tmpfs rejects.
  if [[ "$(stat -f -c %T "$DATA_DIR")" == "tmpfs" ]]; then
    die "$DATA_DIR is on tmpfs; MinIO needs a disk-backed directory (set ADSEED_INFRA_CACHE elsewhere)"
  fi
  if ! port_open "$KAFKA_PORT"; then
    log "warning: nothing listens on 127.0.0.1:$KAFKA_PORT yet; the Kafka target stays offline until it does (start kafka.sh first)"
  fi
  local t0=$SECONDS
  # Exported rather than put on the command line, which start_daemon logs.
  export MINIO_ROOT_USER="${MINIO_ROOT_USER:-adseed}"
  export MINIO_ROOT_PASSWORD="${MINIO_ROOT_PASSWORD:-adseed-secret}"
  export MINIO_UPDATE=off
  export MINIO_NOTIFY_KAFKA_ENABLE_ADSEED=on
  export MINIO_NOTIFY_KAFKA_BROKERS_ADSEED="127.0.0.1:$KAFKA_PORT"
  export MINIO_NOTIFY_KAFKA_TOPIC_ADSEED="$TOPIC"
  # Events raised while Kafka is down wait on disk here and are sent once it is back.
  export MINIO_NOTIFY_KAFKA_QUEUE_DIR_ADSEED="$HOME_DIR/notify-queue"
  mkdir -p "$MINIO_NOTIFY_KAFKA_QUEUE_DIR_ADSEED"
  start_daemon minio "$HOME_DIR/minio.log" "$BIN" server --quiet --address "127.0.0.1:$PORT" --console-address "127.0.0.1:$CONSOLE_PORT" "$DATA_DIR"
  wait_until "$START_TIMEOUT" "http://127.0.0.1:$PORT/minio/health/live" minio live
  log "ready after $((SECONDS - t0))s: S3 http://127.0.0.1:$PORT, console http://127.0.0.1:$CONSOLE_PORT, notify target arn:minio:sqs::ADSEED:kafka -> $TOPIC"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop_daemon minio 20 ;;
  status) status_daemon minio "$PORT" ;;
  *) usage_and_exit ;;
esac
