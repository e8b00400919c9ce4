#!/usr/bin/env bash
# Builds the project's Dockerfile without a Docker engine or a registry: buildah on the base image that
# build-base.sh makes from Debian packages (passed as the NODE_IMAGE build argument).
#
#   deploy/image/build.sh                 # prints the image name (localhost/sqlgate:dev unless IMAGE=...)
#   NO_CACHE=1 deploy/image/build.sh      # every step again (to measure a build from scratch)
#
# Sandbox notes (why the flags below are what they are):
#   --isolation=chroot   the default OCI runtime isolation (crun/runc) fails on a cgroups v1 "hybrid" host
#                        without systemd; chroot isolation needs no cgroup setup for RUN steps.
#   --format docker      OCI image configs have no HEALTHCHECK; the Docker format keeps it.
#   --secret id=ca       when the host's TLS goes through an intercepting proxy, `npm ci` inside the build
#                        fails with SELF_SIGNED_CERT_IN_CHAIN unless it trusts the host's CA bundle. The
#                        bundle is a build secret: mounted for the npm step only, in no image layer.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
IMAGE="${IMAGE:-localhost/sqlgate:dev}"
CA_BUNDLE="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"

log() { echo "build: $*" >&2; }

base=$(bash "$here/build-base.sh")
log "base $base"

secret=()
[ -s "$CA_BUNDLE" ] && secret=(--secret "id=ca,src=$CA_BUNDLE")

log "buildah bud -> $IMAGE"
cache=(--layers)
[ -n "${NO_CACHE:-}" ] && cache=(--no-cache)
buildah bud --isolation=chroot --format docker "${cache[@]}" \
  --build-arg "NODE_IMAGE=$base" "${secret[@]}" \
  -f "$repo/Dockerfile" -t "$IMAGE" "$repo" >&2
echo "$IMAGE"
