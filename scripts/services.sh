#!/usr/bin/env bash
# Start (installing if needed) PostgreSQL 15 and MariaDB on loopback for the
# sqlgate test suite, then wait until both accept TCP connections.
#
# Usage: scripts/services.sh [start|stop|status]     (default: start)
#
# Idempotent: when both servers are already up and configured it changes
# nothing and exits 0. Must run as root (Debian 12).
#
# Resulting test URLs:
#   postgres://sqlgate@127.0.0.1:5432/test
#   mysql://root@127.0.0.1:3306/test      (user sqlgate works too)
set -euo pipefail

PG_VERSION=15
PG_CLUSTER=main
PG_PORT=5432
PG_LISTEN=127.0.0.1
PG_MAX_CONNECTIONS=300

MY_PORT=3306
MY_BIND=127.0.0.1
MY_MAX_CONNECTIONS=500
MY_DATADIR=/var/lib/mysql
MY_RUNDIR=/run/mysqld
MY_SOCKET=$MY_RUNDIR/mysqld.sock
MY_PIDFILE=$MY_RUNDIR/mysqld.pid
MY_LOG=/tmp/sqlgate-mariadbd.log

WAIT_TIMEOUT=${WAIT_TIMEOUT:-60}
APT_LOCK_TIMEOUT=${APT_LOCK_TIMEOUT:-600}

PG_URL="postgres://sqlgate@127.0.0.1:$PG_PORT/test"
MY_URL="mysql://root@127.0.0.1:$MY_PORT/test"

log() { echo "services.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# wait_until TIMEOUT CMD... : retry CMD every 0.5 s until it succeeds.
wait_until() {
  local timeout=$1 deadline
  shift
  deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

# ---------------------------------------------------------------- packages --

dpkg_locked() {
  fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock >/dev/null 2>&1
}

# Wait for any running apt/dpkg (e.g. a background install) to finish, so we
# neither fail on the lock nor see a half-installed package.
wait_for_dpkg() {
  if dpkg_locked; then
    log "waiting for a running apt/dpkg to release its lock (up to ${APT_LOCK_TIMEOUT}s)..."
    wait_until "$APT_LOCK_TIMEOUT" bash -c '! fuser /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock' ||
      die "apt/dpkg lock still held after ${APT_LOCK_TIMEOUT}s"
  fi
}

APT_UPDATED=
apt_install() {
  local apt=(apt-get -o "DPkg::Lock::Timeout=$APT_LOCK_TIMEOUT")
  wait_for_dpkg
  if [[ -z $APT_UPDATED ]]; then
    log "apt-get update"
    "${apt[@]}" update -q >/dev/null
    APT_UPDATED=1
  fi
  log "installing: $*"
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -q "$@" >/dev/null
}

have_mariadbd() { command -v mariadbd >/dev/null 2>&1 || command -v mysqld >/dev/null 2>&1 ||
  [[ -x /usr/sbin/mariadbd || -x /usr/sbin/mysqld ]]; }
mariadbd_bin() {
  local b
  for b in mariadbd mysqld /usr/sbin/mariadbd /usr/sbin/mysqld; do
    command -v "$b" 2>/dev/null && return 0
  done
  return 1
}

ensure_packages() {
  wait_for_dpkg
  local pkgs=()
  command -v pg_ctlcluster >/dev/null 2>&1 || pkgs+=(postgresql)
  have_mariadbd || pkgs+=(mariadb-server)
  command -v mariadb >/dev/null 2>&1 || command -v mysql >/dev/null 2>&1 ||
    [[ " ${pkgs[*]} " == *" mariadb-server "* ]] || pkgs+=(mariadb-client)
  if ((${#pkgs[@]})); then apt_install "${pkgs[@]}"; fi
  command -v pg_ctlcluster >/dev/null 2>&1 || die "pg_ctlcluster not found after install"
  have_mariadbd || die "mariadbd not found after install"
}

# -------------------------------------------------------------- PostgreSQL --

pg_running() { pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" status >/dev/null 2>&1; }
pgc() { pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" "$PG_CLUSTER" "$@"; }
# Run SQL as the postgres superuser over the unix socket.
pg_sql() {
  (cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d "${2:-postgres}" -Atc "$1")
}
pg_tcp_ready() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; }

# Write our settings to a conf.d drop-in (postgresql.conf itself is left alone,
# except for the port); returns 0 if anything changed. Not using pg_conftool
# for listen_addresses: it writes 127.0.0.1 unquoted (looks like a float to
# it), which postgres rejects.
pg_ensure_conf() {
  local confdir=$1 changed=1 have
  have=$(pg_conftool -s "$PG_VERSION" "$PG_CLUSTER" show port 2>/dev/null || true)
  if [[ $have != "$PG_PORT" ]]; then
    log "postgresql.conf: port = $PG_PORT (was: ${have:-default})"
    pg_conftool "$PG_VERSION" "$PG_CLUSTER" set port "$PG_PORT"
    changed=0
  fi
  if ! grep -Eq "^[[:space:]]*include_dir[[:space:]]*=?[[:space:]]*'conf\.d'" "$confdir/postgresql.conf"; then
    echo "include_dir = 'conf.d'" >>"$confdir/postgresql.conf"
    changed=0
  fi
  local dropin=$confdir/conf.d/90-sqlgate.conf content
  content="# Written by sqlgate scripts/services.sh (test services)
listen_addresses = '$PG_LISTEN'
max_connections = $PG_MAX_CONNECTIONS"
  if [[ ! -f $dropin || $(<"$dropin") != "$content" ]]; then
    log "writing $dropin"
    install -d -o postgres -g postgres -m 755 "$confdir/conf.d"
    printf '%s\n' "$content" >"$dropin"
    chown postgres:postgres "$dropin"
    changed=0
  fi
  return $changed
}

# Put "trust" lines for loopback TCP at the top of pg_hba.conf; returns 0 if
# the file changed.
pg_ensure_hba() {
  local hba=$1 marker="# sqlgate test services (scripts/services.sh): trust loopback"
  local l1="host    all             all             127.0.0.1/32            trust"
  local l2="host    all             all             ::1/128                 trust"
  local first
  first=$(grep -Ev '^[[:space:]]*(#|$)' "$hba" | head -n 2 | tr -s ' \t' ' ')
  if [[ $first == "$(printf '%s\n%s' "$l1" "$l2" | tr -s ' \t' ' ')" ]]; then
    return 1
  fi
  log "pg_hba.conf: adding trust for 127.0.0.1/32 and ::1/128"
  local tmp
  tmp=$(mktemp)
  {
    printf '%s\n%s\n%s\n\n' "$marker" "$l1" "$l2"
    # drop an older copy of our block, keep everything else
    grep -vxF -e "$marker" -e "$l1" -e "$l2" "$hba" || true
  } >"$tmp"
  cat "$tmp" >"$hba" # keeps owner and mode of the original file
  rm -f "$tmp"
}

pg_start() {
  if ! pg_lsclusters -h 2>/dev/null | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1 == v && $2 == c {f=1} END {exit !f}'; then
    log "creating PostgreSQL cluster $PG_VERSION/$PG_CLUSTER"
    pg_createcluster --port="$PG_PORT" "$PG_VERSION" "$PG_CLUSTER" >/dev/null
  fi
  local confdir=/etc/postgresql/$PG_VERSION/$PG_CLUSTER changed=
  pg_ensure_conf "$confdir" && changed=1
  pg_ensure_hba "$confdir/pg_hba.conf" && changed=1

  install -d -o postgres -g postgres -m 2775 /var/run/postgresql
  if pg_running; then
    if [[ -n $changed ]]; then
      log "reloading PostgreSQL configuration"
      pgc reload >/dev/null
    fi
    # port / listen_addresses / max_connections need a restart to apply.
    local live
    live=$(pg_sql "SELECT current_setting('port') || ' ' || current_setting('listen_addresses') || ' ' || current_setting('max_connections')" 2>/dev/null || true)
    if [[ $live != "$PG_PORT $PG_LISTEN $PG_MAX_CONNECTIONS" ]]; then
      log "restarting PostgreSQL (running: '${live:-?}', want: '$PG_PORT $PG_LISTEN $PG_MAX_CONNECTIONS')"
      pgc restart
    fi
  else
    log "starting PostgreSQL $PG_VERSION/$PG_CLUSTER"
    pgc start || die "pg_ctlcluster start failed; see /var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log"
  fi

  wait_until "$WAIT_TIMEOUT" pg_tcp_ready ||
    die "PostgreSQL not accepting connections on 127.0.0.1:$PG_PORT after ${WAIT_TIMEOUT}s; see /var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log"

  pg_sql "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sqlgate') THEN
        CREATE ROLE sqlgate LOGIN SUPERUSER;
      ELSIF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sqlgate' AND rolcanlogin AND rolsuper) THEN
        ALTER ROLE sqlgate LOGIN SUPERUSER;
      END IF;
    END \$\$;" || die "could not create PostgreSQL role sqlgate"
  if [[ -z $(pg_sql "SELECT 1 FROM pg_database WHERE datname = 'test'") ]]; then
    log "creating PostgreSQL database test"
    pg_sql 'CREATE DATABASE test OWNER sqlgate' || die "could not create PostgreSQL database test"
  fi
}

pg_stop() {
  if command -v pg_ctlcluster >/dev/null 2>&1 && pg_running; then
    log "stopping PostgreSQL $PG_VERSION/$PG_CLUSTER"
    pgc stop -m fast
  else
    log "PostgreSQL is not running"
  fi
}

# ----------------------------------------------------------------- MariaDB --

my_admin() { mariadb-admin --no-defaults "$@"; }
my_socket_ready() { my_admin --protocol=socket -S "$MY_SOCKET" -uroot ping; }
# ping returns 0 even on "access denied": it only checks the server answers.
my_tcp_ready() { my_admin --protocol=tcp -h127.0.0.1 -P"$MY_PORT" -uroot ping; }
my_sql() { mariadb --no-defaults --protocol=socket -S "$MY_SOCKET" -uroot -N -B -e "$1"; }
my_pid() {
  local pid
  [[ -r $MY_PIDFILE ]] && pid=$(<"$MY_PIDFILE") && [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

my_start() {
  command -v mariadb-admin >/dev/null 2>&1 || die "mariadb-admin not found"
  install -d -o mysql -g mysql -m 755 "$MY_RUNDIR"

  if my_socket_ready >/dev/null 2>&1; then
    :
  elif my_pid >/dev/null; then
    log "mariadbd (pid $(my_pid)) is starting, waiting for it"
  else
    if [[ ! -d $MY_DATADIR/mysql ]]; then
      log "initialising MariaDB datadir $MY_DATADIR"
      install -d -o mysql -g mysql -m 755 "$MY_DATADIR"
      mariadb-install-db --user=mysql --datadir="$MY_DATADIR" >>"$MY_LOG" 2>&1 ||
        die "mariadb-install-db failed; see $MY_LOG"
    fi
    local bin
    bin=$(mariadbd_bin) || die "mariadbd not found"
    log "starting MariaDB ($bin), log: $MY_LOG"
    # Fully detached: own session, no controlling terminal, stdio to a file.
    setsid -f nohup "$bin" --user=mysql --datadir="$MY_DATADIR" \
      --bind-address="$MY_BIND" --port="$MY_PORT" \
      --socket="$MY_SOCKET" --pid-file="$MY_PIDFILE" \
      --max-connections="$MY_MAX_CONNECTIONS" \
      </dev/null >>"$MY_LOG" 2>&1
  fi

  wait_until "$WAIT_TIMEOUT" my_socket_ready || {
    tail -n 20 "$MY_LOG" >&2 2>/dev/null || true
    die "MariaDB not accepting connections on $MY_SOCKET after ${WAIT_TIMEOUT}s; see $MY_LOG"
  }

  # root over TCP with an empty password; root@localhost keeps unix_socket
  # auth for the OS root user as an alternative.
  my_sql "
    SET GLOBAL max_connections = GREATEST(@@global.max_connections, $MY_MAX_CONNECTIONS);
    CREATE DATABASE IF NOT EXISTS test;
    CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
    ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '';
    GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
    CREATE USER IF NOT EXISTS 'root'@'localhost' IDENTIFIED VIA unix_socket;
    ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('');
    GRANT ALL PRIVILEGES ON *.* TO 'root'@'localhost' WITH GRANT OPTION;
    CREATE USER IF NOT EXISTS 'sqlgate'@'127.0.0.1' IDENTIFIED BY '';
    CREATE USER IF NOT EXISTS 'sqlgate'@'localhost' IDENTIFIED BY '';
    ALTER USER 'sqlgate'@'127.0.0.1' IDENTIFIED BY '';
    ALTER USER 'sqlgate'@'localhost' IDENTIFIED BY '';
    GRANT ALL PRIVILEGES ON *.* TO 'sqlgate'@'127.0.0.1';
    GRANT ALL PRIVILEGES ON *.* TO 'sqlgate'@'localhost';
  " || die "MariaDB user/database setup failed"

  wait_until "$WAIT_TIMEOUT" my_tcp_ready ||
    die "MariaDB not accepting TCP connections on 127.0.0.1:$MY_PORT after ${WAIT_TIMEOUT}s; see $MY_LOG"
}

my_stop() {
  local pid
  pid=$(my_pid || true)
  if my_socket_ready >/dev/null 2>&1; then
    log "stopping MariaDB"
    my_admin --protocol=socket -S "$MY_SOCKET" -uroot shutdown || true
  elif [[ -n $pid ]]; then
    log "stopping MariaDB (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
  else
    log "MariaDB is not running"
    return 0
  fi
  if [[ -n $pid ]]; then
    wait_until "$WAIT_TIMEOUT" bash -c "! kill -0 $pid" || die "mariadbd (pid $pid) did not exit within ${WAIT_TIMEOUT}s"
  else
    wait_until "$WAIT_TIMEOUT" bash -c "! mariadb-admin --no-defaults --protocol=socket -S '$MY_SOCKET' -uroot ping" ||
      die "MariaDB did not stop within ${WAIT_TIMEOUT}s"
  fi
}

# -------------------------------------------------------------------- main --

[[ $(id -u) == 0 ]] || die "must run as root"

case ${1:-start} in
  start)
    ensure_packages
    pg_start
    my_start
    log "PostgreSQL $(pg_sql 'SHOW server_version' | cut -d' ' -f1) and MariaDB $(my_sql 'SELECT VERSION()') are up"
    echo "$PG_URL"
    echo "$MY_URL"
    ;;
  stop)
    pg_stop
    my_stop
    ;;
  status)
    rc=0
    if pg_tcp_ready 2>/dev/null; then echo "postgres: up   $PG_URL"; else echo "postgres: down"; rc=1; fi
    if my_tcp_ready >/dev/null 2>&1; then echo "mariadb:  up   $MY_URL"; else echo "mariadb:  down"; rc=1; fi
    exit $rc
    ;;
  *)
    echo "usage: $0 [start|stop|status]" >&2
    exit 2
    ;;
esac
