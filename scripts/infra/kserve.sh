#!/usr/bin/env bash
# KServe v2 inference server (the real Triton, via PyPI nvidia-pytriton) serving the CLIP ONNX
# encoders as models `clip_image` and `clip_text`, CPU only, on 127.0.0.1.
#
#   scripts/infra/kserve.sh install|start|stop|status
#
# Environment (defaults in brackets):
#   ADSEED_KSERVE_MODEL_DIR      [.cache/infra/test-model]  holds onnx/vision_model.onnx and
#                                onnx/text_model.onnx; the default is a generated trivial pair
#   ADSEED_KSERVE_GRPC_PORT      [18001]
#   ADSEED_KSERVE_HTTP_PORT      [18000]
#   ADSEED_KSERVE_METRICS_PORT   [18002]
#   ADSEED_KSERVE_START_TIMEOUT  [120]  seconds to wait for both models' /v2/models/<name>/ready
set -euo pipefail
INFRA_NAME=kserve
# shellcheck source=./lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TEST_MODEL_DIR="$INFRA_CACHE/test-model"
MODEL_DIR="${ADSEED_KSERVE_MODEL_DIR:-$TEST_MODEL_DIR}"
GRPC_PORT="${ADSEED_KSERVE_GRPC_PORT:-18001}"
HTTP_PORT="${ADSEED_KSERVE_HTTP_PORT:-18000}"
METRICS_PORT="${ADSEED_KSERVE_METRICS_PORT:-18002}"
START_TIMEOUT="${ADSEED_KSERVE_START_TIMEOUT:-120}"
HOME_DIR="$INFRA_CACHE/kserve"
LOG_FILE="$HOME_DIR/kserve.log"

install() {
  ensure_venv "$INFRA_SCRIPTS_DIR/requirements-kserve.txt"
  if [[ "$MODEL_DIR" == "$TEST_MODEL_DIR" && ! -f "$TEST_MODEL_DIR/onnx/text_model.onnx" ]]; then
    # The project's one ONNX writer: the generated CLIP-shaped pair the product's tests load too.
    local tool="$REPO_ROOT/services/embedding/tools/dist/make-clip-models.js"
    [[ -f "$tool" ]] || die "$tool not found: run npm ci && npm run build first (or set ADSEED_KSERVE_MODEL_DIR)"
    log "generating the trivial CLIP-shaped test encoder pair in $TEST_MODEL_DIR"
    node "$tool" --kind toy --out "$TEST_MODEL_DIR" >/dev/null
  fi
}

# The Triton Python-backend stub is linked against libpython3.11.so.1.0 and finds the system
# one (Debian: 3.11.2) first; if the venv's interpreter is another 3.11.x its stdlib breaks in
# the stub (e.g. `RLock has no _recursion_count`). Put the interpreter's own libpython first.
python_libdir() {
  "$INFRA_VENV/bin/python" - <<'EOF'
import sys, sysconfig
if sys.version_info[:2] not in {(3, 8), (3, 9), (3, 10), (3, 11), (3, 12), (3, 13)}:
    sys.exit(f"pytriton ships Python-backend stubs for 3.8-3.13 only, not {sys.version.split()[0]}")
if not sysconfig.get_config_var("Py_ENABLE_SHARED"):
    sys.exit("this Python has no shared libpython; Triton's Python backend needs one "
             "(pyenv: PYTHON_CONFIGURE_OPTS=--enable-shared; or use Debian's python3)")
print(sysconfig.get_config_var("LIBDIR"))
EOF
}

# PyTriton starts Triton with an empty repository and loads the models afterwards, so server
# readiness says nothing: wait for each model.
ready() {
  local model
  for model in clip_image clip_text; do
    curl -fsS -m 2 "http://127.0.0.1:$HTTP_PORT/v2/models/$model/ready" >/dev/null || return 1
  done
}

start() {
  if pid="$(running_pid kserve)"; then
    log "already running (pid $pid): gRPC 127.0.0.1:$GRPC_PORT"
    return 0
  fi
  require_cmd curl
  install
  # Same names the product's encoder accepts: the q8 export's *_quantized.onnx, or the plain files.
  for tower in vision text; do
    [[ -f "$MODEL_DIR/onnx/${tower}_model_quantized.onnx" || -f "$MODEL_DIR/onnx/${tower}_model.onnx" ]] ||
      die "$MODEL_DIR/onnx/${tower}_model[_quantized].onnx not found (ADSEED_KSERVE_MODEL_DIR=$MODEL_DIR)"
  done
  fail_if_port_taken "$GRPC_PORT" "KServe gRPC"
  fail_if_port_taken "$HTTP_PORT" "KServe HTTP"
  fail_if_port_taken "$METRICS_PORT" "KServe metrics"
  local libdir
  libdir="$(python_libdir)" || die "cannot run Triton's Python backend with $INFRA_VENV/bin/python (see above)"
  mkdir -p "$HOME_DIR"
  local t0=$SECONDS
  # The workspace is per run: PyTriton puts sockets and a generated model repository there.
  rm -rf "$HOME_DIR/workspace"
  start_daemon kserve "$LOG_FILE" env "LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    "$INFRA_VENV/bin/python" "$INFRA_SCRIPTS_DIR/kserve_server.py" \
    --model-dir "$MODEL_DIR" --workspace "$HOME_DIR/workspace" \
    --grpc-port "$GRPC_PORT" --http-port "$HTTP_PORT" --metrics-port "$METRICS_PORT"
  wait_until "$START_TIMEOUT" "clip_image and clip_text to report ready on http://127.0.0.1:$HTTP_PORT/v2/models/<name>/ready" kserve ready
  log "ready after $((SECONDS - t0))s: gRPC 127.0.0.1:$GRPC_PORT, HTTP 127.0.0.1:$HTTP_PORT, models clip_image, clip_text"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop_daemon kserve 30 ;;
  status) status_daemon kserve "$GRPC_PORT" ;;
  *) usage_and_exit ;;
esac
