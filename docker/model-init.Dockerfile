# syntax=docker/dockerfile:1.7
# Init container that lays the encoder ONNX files out for their consumer:
#   - Triton's model repository (<repo>/<model>/config.pbtxt + <repo>/<model>/1/model.onnx), or
#   - the embedding service's ONNX directories (mirrored as they are).
# The files come either from this image (baked from docker/models/ at build time) or from an
# S3/MinIO bucket at init time with `mc`. See docker/model-init.sh for the interface.
#   docker build -f docker/model-init.Dockerfile -t adseed-model-init:0.1.0 .
#
# Pins: releases pass digests for both images (`docker buildx imagetools inspect <image>`).
ARG GO_IMAGE=golang:1.24.4-bookworm
ARG BASE_IMAGE=debian:12.11-slim

# mc from source at a fixed module version: MinIO no longer publishes community images/binaries
# we could pin, while the Go module proxy serves the source reproducibly.
FROM ${GO_IMAGE} AS mc
ARG MC_VERSION=v0.0.0-20250313080218-cf909e1063a9
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOBIN=/out go install -trimpath -ldflags='-s -w' "github.com/minio/mc@${MC_VERSION}"

FROM ${BASE_IMAGE} AS runtime
# mc talks TLS to the bucket: take the CA bundle from the (pinned) Go image instead of an
# unpinned apt-get install.
COPY --from=mc /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=mc /out/mc /usr/local/bin/mc
COPY docker/model-init.sh /usr/local/bin/model-init
# Baked models (optional): whatever is staged in docker/models/ (see docker/models/README.md).
COPY docker/models/ /opt/adseed-models/
# mc writes its config under $HOME; the chart mounts the root filesystem read-only.
ENV HOME=/tmp \
    MC_CONFIG_DIR=/tmp/.mc \
    MODEL_SOURCE=baked \
    MODEL_BAKED_DIR=/opt/adseed-models
USER 1000:1000
ENTRYPOINT ["/usr/local/bin/model-init"]
CMD ["--help"]
