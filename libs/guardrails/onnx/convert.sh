#!/usr/bin/env bash
# Converts nsfwjs's bundled MobileNetV2 (weights inside the npm package) to ONNX, once, for
# ADSEED_IMAGE_GUARDRAIL_RUNTIME=onnx: the model is written out as tfjs stores it
# (dump-nsfwjs.js), read into tf.keras and converted with tf2onnx (keras-to-onnx.py), in a venv
# of PyPI packages under .cache/onnx-venv (≈ 1.3 GB; ≈ 40 s to install from the mirror here, then
# cached). Nothing is downloaded at run time: the gateway reads the file this script wrote.
# Output: .cache/nsfwjs-onnx/nsfwjs-mobilenet_v2.onnx (or $1); skipped when it exists (--force).
# Run from the repository: bash libs/guardrails/onnx/convert.sh [out.onnx] [--force]
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=.cache/nsfwjs-onnx/nsfwjs-mobilenet_v2.onnx
force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    *) out="$arg" ;;
  esac
done
if [ -f "$out" ] && [ "$force" = 0 ]; then echo "nsfwjs ONNX model: $out (exists; --force to convert again)"; exit 0; fi
venv=.cache/onnx-venv
# tf2onnx 1.16 supports TensorFlow ≤ 2.15 (Keras 2, which still reads nsfwjs's Keras 2.2.4 topology).
if ! "$venv/bin/python" -c 'import tensorflow, tf2onnx, onnx' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'tensorflow-cpu==2.15.1' 'tf2onnx==1.16.1' 'onnx==1.16.2' 'protobuf==3.20.3' 'numpy==1.26.4'
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
node libs/guardrails/onnx/dump-nsfwjs.js "$work" MobileNetV2
"$venv/bin/python" libs/guardrails/onnx/keras-to-onnx.py "$work" "$out"
