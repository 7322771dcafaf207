#!/usr/bin/env bash
# Regenerates the CLIP golden files (token ids, test images, reference tensors) with the
# Hugging Face reference, and pillow-reference.json. Run by hand when the tokenizer, the
# preprocessing or the reference changes; CI only reads the committed files.
#
#   services/embedding/tools/make-clip-goldens.sh
#
# Makes a venv at .cache/hf-venv (PyPI: transformers, tokenizers, pillow, numpy; no torch) and
# reads the real tokenizer and configs from $ADSEED_SHARED_DIR/models/clip-vit-base-patch32
# (default: the `shared` folder beside the checkout).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
shared="${ADSEED_SHARED_DIR:-$(cd "$repo/.." && pwd)/shared}"
model_dir="$shared/models/clip-vit-base-patch32"
fixtures="$repo/services/embedding/src/encoders/clip/fixtures"
venv="$repo/.cache/hf-venv"
[[ -f "$model_dir/tokenizer.json" ]] || { echo "no tokenizer.json in $model_dir (set ADSEED_SHARED_DIR)" >&2; exit 1; }
if [[ ! -x "$venv/bin/python" ]]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check transformers tokenizers pillow numpy
fi
"$venv/bin/python" "$fixtures/make_pillow_reference.py" >"$fixtures/pillow-reference.json"
rm -rf "$fixtures/hf-golden/images" "$fixtures/hf-golden/crops"
"$venv/bin/python" "$fixtures/make_hf_goldens.py" "$model_dir" "$fixtures/hf-golden"
echo "now: npm run build && node --test services/embedding/dist/encoders/clip/clip-golden.spec.js"
