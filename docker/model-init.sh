#!/bin/sh
# Lays the encoder ONNX files out for their consumer. Run as an init container (chart) or by hand.
#
#   model-init onnx <dest>               copy the model tree as it is (embedding service's
#                                        ADSEED_CLIP_MODEL_DIR / ADSEED_CAPTION_MODEL_DIR live in it)
#   model-init triton <dest>             build a Triton model repository in <dest>
#   model-init publish-triton <target>   build the Triton repository and mirror it to a bucket
#                                        path (<bucket>/<prefix>) for `--model-repository=s3://...`
#
# Where the files come from (MODEL_SOURCE):
#   baked  files baked into the image at MODEL_BAKED_DIR (default /opt/adseed-models)
#   s3     S3_ENDPOINT (e.g. https://minio.storage:9000), S3_BUCKET, S3_PREFIX (optional),
#          S3_ACCESS_KEY, S3_SECRET_KEY; fetched with mc, bounded by MODEL_FETCH_TIMEOUT_SECONDS
# Triton layout:
#   TRITON_MODELS       space-separated name=relative/path.onnx pairs
#                       (default: the CLIP towers of clip-vit-base-patch32/onnx/)
#   TRITON_CONFIG_DIR   directory holding <name>.pbtxt for each model (the chart mounts its
#                       ConfigMap there; dynamic batching is configured in those files)
set -eu

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "model-init: $*" >&2; exit 1; }

MODEL_SOURCE="${MODEL_SOURCE:-baked}"
MODEL_BAKED_DIR="${MODEL_BAKED_DIR:-/opt/adseed-models}"
MODEL_FETCH_TIMEOUT_SECONDS="${MODEL_FETCH_TIMEOUT_SECONDS:-900}"
TRITON_MODELS="${TRITON_MODELS:-clip_image=clip-vit-base-patch32/onnx/vision_model.onnx clip_text=clip-vit-base-patch32/onnx/text_model.onnx}"
TRITON_CONFIG_DIR="${TRITON_CONFIG_DIR:-/config}"

mc_alias() {
  [ -n "${S3_ENDPOINT:-}" ] || die "MODEL_SOURCE=s3 needs S3_ENDPOINT (e.g. https://minio:9000)"
  [ -n "${S3_BUCKET:-}" ] || die "MODEL_SOURCE=s3 needs S3_BUCKET"
  [ -n "${S3_ACCESS_KEY:-}" ] && [ -n "${S3_SECRET_KEY:-}" ] || die "MODEL_SOURCE=s3 needs S3_ACCESS_KEY and S3_SECRET_KEY"
  # alias set probes the server: bound it like the transfers.
  timeout 60 mc alias set adseed "$S3_ENDPOINT" "$S3_ACCESS_KEY" "$S3_SECRET_KEY" >/dev/null \
    || die "cannot reach $S3_ENDPOINT with the given credentials (or no answer within 60s)"
}

# Prints the directory holding the source model tree, fetching it first when it is in a bucket.
source_dir() {
  case "$MODEL_SOURCE" in
    baked)
      [ -d "$MODEL_BAKED_DIR" ] && [ -n "$(find "$MODEL_BAKED_DIR" -type f -name '*.onnx' | head -n 1)" ] \
        || die "no .onnx files in $MODEL_BAKED_DIR: stage them in docker/models/ before building the image, or set MODEL_SOURCE=s3"
      echo "$MODEL_BAKED_DIR" ;;
    s3)
      mc_alias
      fetched="${TMPDIR:-/tmp}/adseed-models-src"
      mkdir -p "$fetched"
      timeout "$MODEL_FETCH_TIMEOUT_SECONDS" mc mirror --overwrite --quiet \
        "adseed/$S3_BUCKET/${S3_PREFIX:-}" "$fetched" >&2 \
        || die "fetching s3 $S3_BUCKET/${S3_PREFIX:-} failed or took longer than ${MODEL_FETCH_TIMEOUT_SECONDS}s"
      echo "$fetched" ;;
    *) die "MODEL_SOURCE must be baked or s3, got '$MODEL_SOURCE'" ;;
  esac
}

copy_tree() { # src dest
  mkdir -p "$2"
  cp -R "$1/." "$2/"
}

build_triton() { # src dest
  for pair in $TRITON_MODELS; do
    name="${pair%%=*}"; rel="${pair#*=}"
    [ "$name" != "$pair" ] && [ -n "$rel" ] || die "TRITON_MODELS entry '$pair' is not name=relative/path.onnx"
    [ -f "$1/$rel" ] || die "model $name: $rel not found in the model source"
    [ -f "$TRITON_CONFIG_DIR/$name.pbtxt" ] || die "model $name: no $TRITON_CONFIG_DIR/$name.pbtxt (Triton config)"
    mkdir -p "$2/$name/1"
    cp "$1/$rel" "$2/$name/1/model.onnx"
    cp "$TRITON_CONFIG_DIR/$name.pbtxt" "$2/$name/config.pbtxt"
    echo "model-init: $name <- $rel" >&2
  done
}

command="${1:-}"
case "$command" in
  onnx)
    [ $# -eq 2 ] || die "usage: model-init onnx <dest>"
    src="$(source_dir)"; copy_tree "$src" "$2"
    echo "model-init: copied the model tree into $2" >&2 ;;
  triton)
    [ $# -eq 2 ] || die "usage: model-init triton <dest>"
    src="$(source_dir)"; build_triton "$src" "$2" ;;
  publish-triton)
    [ $# -eq 2 ] || die "usage: model-init publish-triton <bucket>/<prefix>"
    src="$(source_dir)"; staged="${TMPDIR:-/tmp}/adseed-triton-repo"
    rm -rf "$staged"; build_triton "$src" "$staged"
    mc_alias
    timeout "$MODEL_FETCH_TIMEOUT_SECONDS" mc mirror --overwrite --remove --quiet "$staged" "adseed/$2" >&2 \
      || die "uploading to $2 failed or took longer than ${MODEL_FETCH_TIMEOUT_SECONDS}s" ;;
  -h|--help|help) usage ;;
  *) usage >&2; die "unknown command '$command'" ;;
esac
