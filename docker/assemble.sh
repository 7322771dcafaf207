#!/bin/sh
# Lays out what one service's image holds besides node_modules (docker/Dockerfile's assemble
# stage; scripts/chart/dockerfile-sources.test.js runs it against the host build too):
#
#   assemble.sh <service> <build root> <install root> <out>
#
#   <build root>    a checkout after the build (every workspace's package.json and dist/)
#   <install root>  where `npm ci --omit=dev --workspace services/<service>` ran: the workspaces
#                   it linked in node_modules/@adseed/ are the service and the libs in its
#                   dependency closure, and they are the only ones copied
#   <out>           gets <workspace>/package.json and dist/ for each of them (plus the nested
#                   node_modules npm put in a workspace), the service's public/ (the web UI) and
#                   assets/ (the compositor's fonts), and proto/ (read at run time)
#
# dist/ also holds what src/ compiles beside the product: specs, the shared contract suites and
# test kits (and standalone's e2e and integration suites). They are dropped here; benches, tools and test helpers never reach dist/ (they live
# in <workspace>/bench, tools and test, which .dockerignore keeps out of the build context).
set -eu

die() { echo "assemble: $*" >&2; exit 1; }
[ $# -eq 4 ] || die "usage: assemble.sh <service> <build root> <install root> <out>"
service="$1"; build="$2"; install="$3"; out="$4"

[ -f "$build/services/$service/dist/main.js" ] || die "$build/services/$service/dist/main.js was not built: is the service '$service' spelled right?"
[ -L "$install/node_modules/@adseed/$service" ] || die "$install/node_modules/@adseed/$service is not linked: install with --workspace services/$service"

mkdir -p "$out"
for link in "$install"/node_modules/@adseed/*; do
  target="$(readlink "$link")"           # ../../libs/config
  workspace="${target#../../}"
  case "$workspace" in
    libs/*|services/*) ;;
    *) die "$link -> $target is not a workspace link" ;;
  esac
  [ -d "$build/$workspace/dist" ] || die "$build/$workspace/dist was not built"
  mkdir -p "$out/$workspace"
  cp -a "$build/$workspace/package.json" "$build/$workspace/dist" "$out/$workspace/"
  if [ -d "$install/$workspace/node_modules" ]; then cp -a "$install/$workspace/node_modules" "$out/$workspace/"; fi
done

for part in public assets; do
  if [ -d "$build/services/$service/$part" ]; then cp -a "$build/services/$service/$part" "$out/services/$service/"; fi
done
cp -a "$build/proto" "$out/proto"

rm -rf "$out"/services/*/dist/e2e "$out"/services/*/dist/integration
find "$out/libs" "$out/services" -path '*/node_modules' -prune -o -type f \
  \( -name '*.spec.*' -o -name '*.contract.*' -o -name '*.test-kit.*' -o -name '*.tsbuildinfo' \) -exec rm -f {} +
