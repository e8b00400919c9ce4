#!/usr/bin/env bash
# Issue #17 (deployment): what test/deploy/*.test.ts needs on a fresh machine (HAProxy, nginx, PgBouncer,
# the PostgreSQL server binaries for private primary/replica clusters), then the image test. Run before
# `npm test`. The image test builds the base from Debian (debootstrap) unless its root filesystem tarball
# is cached (SQLGATE_IMAGE_CACHE, see deploy/image/build-base.sh), builds the Dockerfile with buildah and
# runs it with podman (deploy/image/smoke.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
started=$(date +%s)
need=()
command -v haproxy >/dev/null || need+=(haproxy)
command -v nginx >/dev/null || need+=(nginx-light)
command -v pgbouncer >/dev/null || need+=(pgbouncer)
[ -x /usr/lib/postgresql/15/bin/pg_basebackup ] || need+=(postgresql-15)
for tool in buildah podman debootstrap runc newuidmap fuse-overlayfs slirp4netns; do
  command -v "$tool" >/dev/null || need+=("$tool")
done
need=("${need[@]/newuidmap/uidmap}")
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${need[@]}"
fi
haproxy -v | sed -n 1p
nginx -v 2>&1
pgbouncer --version | sed -n 1p
podman --version

echo "-- image (deploy/image/smoke.sh)"
bash deploy/image/smoke.sh
echo "deploy step: $(($(date +%s) - started)) s"
