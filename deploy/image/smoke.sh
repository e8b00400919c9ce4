#!/usr/bin/env bash
# The image test (CI, issue #17): builds the image (build.sh), then runs it the way production would and
# checks what the Dockerfile promises. Exits non-zero on the first broken promise.
#   - a non-root user, a HEALTHCHECK, the reported image size;
#   - `podman run --read-only` with the shipped defaults (0.0.0.0 inside the container, auth from a mounted
#     config file, SQLite on the /data volume), published on 127.0.0.1:$PORT only;
#   - /readyz 200; /v1/execute without the key 401, with it a write and a read back with exact values;
#   - the healthcheck passes; nothing but /data is writable;
#   - SIGTERM (podman stop) -> node as PID 1 drains and exits 0 (not the 137 of a kill after the timeout).
# When containers cannot run here at all, it prints podman's exact error and runs the same checks on the
# image's root filesystem with unshare + chroot (SQLGATE_IMAGE_FALLBACK=1 forces that path).
#
#   deploy/image/smoke.sh          # PORT=18801 by default
#
# podman flags the sandbox needs: --runtime runc (crun cannot set up cgroups on this hybrid host), explicit
# --ulimit values (the inherited hard limits are above what the runtime may set).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
PORT="${PORT:-18801}"
KEY="smoke-test-key-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
name="sqlgate-smoke-$$"
work=$(mktemp -d "${TMPDIR:-/tmp}/sqlgate-smoke.XXXXXX")
started=$(date +%s)

log() { echo "smoke: $*" >&2; }
fail() {
  log "FAIL: $*"
  exit 1
}
cleanup() {
  podman rm -f "$name" >/dev/null 2>&1 || true
  [ -n "${chroot_pid:-}" ] && kill -KILL "$chroot_pid" 2>/dev/null || true
  [ -n "${mnt:-}" ] && podman image unmount "$IMAGE" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

IMAGE=$(bash "$here/build.sh")
log "built $IMAGE in $(($(date +%s) - started)) s"

# --- what the image declares ----------------------------------------------------------------------------
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
user=$(podman image inspect --format '{{.Config.User}}' "$IMAGE")
health=$(podman image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE")
log "image size $((size / 1000000)) MB ($size bytes), user '$user'"
[ "$user" = node ] || fail "image user is '$user', not node"
case "$health" in *healthz*) ;; *) fail "no HEALTHCHECK in the image config: $health" ;; esac

# --- a config with auth, mounted read-only; /data writable by uid 1000 ------------------------------------
mkdir -p "$work/data"
chown 1000:1000 "$work/data"
cat >"$work/sqlgate.yaml" <<'EOF'
auth:
  apiKeys:
    - { name: smoke, key: "${SMOKE_KEY}" }
EOF
chmod 644 "$work/sqlgate.yaml"

url="http://127.0.0.1:$PORT"
wait_ready() {
  for _ in $(seq 1 150); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" = 200 ] && return 0
    sleep 0.2
  done
  return 1
}
execute() { # $1 = JSON body; prints "<status> <body>"
  curl -s -w '\n%{http_code}' -H "authorization: Bearer $KEY" -H 'content-type: application/json' \
    -d "$1" "$url/v1/execute"
}
check_api() {
  local out status body
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' \
    -d '{"sql":"SELECT 1"}' "$url/v1/execute")" = 401 ] || fail "/v1/execute without a key is not 401"
  out=$(execute '{"sql":"CREATE TABLE IF NOT EXISTS smoke (id INTEGER PRIMARY KEY, name TEXT)"}')
  [ "${out##*$'\n'}" = 200 ] || fail "CREATE TABLE: $out"
  out=$(execute '{"sql":"INSERT INTO smoke (id, name) VALUES (?, ?)","params":[7,"seven"]}')
  [ "${out##*$'\n'}" = 200 ] || fail "INSERT: $out"
  out=$(execute '{"sql":"SELECT id, name, 40 + 2 AS answer FROM smoke"}')
  status=${out##*$'\n'}
  body=${out%$'\n'*}
  [ "$status" = 200 ] || fail "SELECT: $out"
  # SQLite INTEGER is BIGINT, a string by default (int64: "string").
  [ "$(jq -c .rows <<<"$body")" = '[{"id":"7","name":"seven","answer":"42"}]' ] || fail "SELECT rows: $body"
  log "/readyz 200; /v1/execute 401 without the key; CREATE/INSERT/SELECT -> $(jq -c .rows <<<"$body")"
}

run_podman() {
  podman run -d --name "$name" --runtime runc \
    --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
    --read-only -v "$work/data:/data" -v "$work/sqlgate.yaml:/config/sqlgate.yaml:ro" \
    -e SQLGATE_CONFIG=/config/sqlgate.yaml -e SMOKE_KEY="$KEY" \
    -p "127.0.0.1:$PORT:8080" "$IMAGE" >/dev/null 2>"$work/run.err"
}

if [ -z "${SQLGATE_IMAGE_FALLBACK:-}" ] && run_podman; then
  wait_ready || {
    podman logs "$name" >&2 || true
    fail "/readyz never answered 200"
  }
  check_api
  [ "$(podman exec "$name" id -u)" = 1000 ] || fail "the process does not run as uid 1000"
  [ "$(podman exec "$name" sh -c 'cat /proc/1/cmdline | tr "\0" " "')" = "node dist/src/cli.js serve " ] ||
    fail "PID 1 is not node"
  if podman exec "$name" sh -c 'touch /app/x' 2>/dev/null; then fail "the root filesystem is writable"; fi
  podman exec "$name" sh -c 'touch /data/probe && rm /data/probe' || fail "/data is not writable"
  podman healthcheck run "$name" >/dev/null || fail "the HEALTHCHECK command failed"
  log "uid 1000, node is PID 1, root filesystem read-only, /data writable, healthcheck healthy"
  t0=$(date +%s)
  podman stop -t 20 "$name" >/dev/null
  code=$(podman inspect --format '{{.State.ExitCode}}' "$name")
  log "SIGTERM -> exit code $code after $(($(date +%s) - t0)) s"
  [ "$code" = 0 ] || {
    podman logs "$name" 2>&1 | tail -5 >&2
    fail "exit code $code after SIGTERM"
  }
else
  # Containers are impossible here: say exactly why, then run the image's root filesystem directly.
  [ -s "$work/run.err" ] && log "podman run failed: $(cat "$work/run.err")"
  log "fallback: unshare + chroot into the image's root filesystem (read-only bind, uid 1000)"
  mnt=$(podman image mount "$IMAGE")
  root="$work/root"
  mkdir -p "$root"
  env -i PATH=/usr/local/bin:/usr/bin:/bin NODE_ENV=production SQLGATE_HOST=127.0.0.1 SQLGATE_PORT="$PORT" \
    DATABASE_URL=sqlite:/data/sqlgate.sqlite SQLGATE_CONFIG=/config/sqlgate.yaml SMOKE_KEY="$KEY" \
    unshare --mount --pid --fork --kill-child sh -c '
      set -e
      mount --bind "$1" "$2" && mount -o remount,bind,ro "$2"
      mount --bind "$3/data" "$2/data"
      mount -t proc proc "$2/proc"
      mkdir -p "$3/config-mnt"; cp "$3/sqlgate.yaml" "$3/config-mnt/"
      mount --bind "$3/config-mnt" "$2/tmp" 2>/dev/null || true
      cd "$2" && exec chroot --userspec=1000:1000 . sh -c "cd /app && SQLGATE_CONFIG=/tmp/sqlgate.yaml exec node dist/src/cli.js serve"
    ' sh "$mnt" "$root" "$work" >"$work/chroot.log" 2>&1 &
  chroot_pid=$!
  wait_ready || {
    cat "$work/chroot.log" >&2
    fail "/readyz never answered 200 (chroot)"
  }
  check_api
  kill -TERM "$chroot_pid"
  code=0
  wait "$chroot_pid" || code=$?
  chroot_pid=
  log "SIGTERM -> exit code $code (chroot)"
  [ "$code" = 0 ] || fail "exit code $code after SIGTERM (chroot)"
fi
log "PASS in $(($(date +%s) - started)) s; image $IMAGE, $((size / 1000000)) MB"
