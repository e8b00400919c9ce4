#!/usr/bin/env bash
# req/s of sqlgate behind HAProxy (deploy/haproxy/haproxy.cfg) with 1 replica vs 3 replicas, on
# PostgreSQL, in the same run: every round measures both, alternating, and the medians are printed with
# their ratio. Short by default (3 rounds x 5 s each); docs/deployment.md quotes a run of this script.
#
#   SQLGATE_TEST_PG_URL=postgres://sqlgate@127.0.0.1:5432/test_deploy bench/replicas.sh [rounds] [seconds]
#
# Ports: replicas 18877-18879, balancer 18866, its stats 18867. Needs haproxy and wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-3}"
SECONDS_EACH="${2:-5}"
CONNS="${CONNS:-24}"
PG="${SQLGATE_TEST_PG_URL:-postgres://sqlgate@127.0.0.1:5432/test}"
work=$(mktemp -d "${TMPDIR:-/tmp}/sqlgate-bench-replicas.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

start_replica() { # id port
  cat >"$work/$1.json" <<JSON
{"server":{"host":"127.0.0.1","port":$2},"logging":{"level":"warn"},
 "sessions":{"replica":{"id":"$1","secret":"bench-replicas-shared-secret-0123456789"}},
 "backends":{"db":{"driver":"postgres","url":"$PG","pool":{"max":8}}}}
JSON
  node --import tsx src/cli.ts serve --config "$work/$1.json" >"$work/$1.log" 2>&1 &
  pids+=($!)
}
start_lb() { # r1 r2 r3 addresses
  SQLGATE_LB_BIND=127.0.0.1:18866 SQLGATE_LB_STATS=127.0.0.1:18867 SQLGATE_R1="$1" SQLGATE_R2="$2" SQLGATE_R3="$3" \
    haproxy -db -f deploy/haproxy/haproxy.cfg >"$work/haproxy.log" 2>&1 &
  lb=$!
  for _ in $(seq 1 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:18866/readyz)" = 200 ] && sleep 3 && return 0
    sleep 0.2
  done
  echo "balancer did not come up" >&2
  cat "$work/haproxy.log" >&2
  exit 1
}
measure() { # -> req/s
  BENCH_BODY_FILE="$work/body.json" wrk -t2 -c"$CONNS" -d"${SECONDS_EACH}s" -s bench/wrk/post.lua \
    http://127.0.0.1:18866/v1/execute | sed -n 's/^BENCHJSON //p' |
    node -e 'let s="";process.stdin.on("data",c=>s+=c).on("end",()=>{const r=JSON.parse(s);
      const bad=Object.values(r.errors).reduce((a,b)=>a+b,0); if(bad) {console.error("errors",r.errors);process.exit(1)}
      console.log((r.requests/(r.durationUs/1e6)).toFixed(0))})'
}
median() { tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo '{"sql":"SELECT $1::int AS n","params":[1]}' >"$work/body.json"
start_replica r1 18877
start_replica r2 18878
start_replica r3 18879
for p in 18877 18878 18879; do
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$p/readyz" >/dev/null && break; sleep 0.2; done
done
one=()
three=()
for round in $(seq 1 "$ROUNDS"); do
  start_lb 127.0.0.1:18877 127.0.0.1:18877 127.0.0.1:18877
  one+=("$(measure)")
  kill "$lb"; wait "$lb" 2>/dev/null || true
  start_lb 127.0.0.1:18877 127.0.0.1:18878 127.0.0.1:18879
  three+=("$(measure)")
  kill "$lb"; wait "$lb" 2>/dev/null || true
  echo "round $round: 1 replica ${one[-1]} req/s, 3 replicas ${three[-1]} req/s"
done
m1=$(echo "${one[@]}" | median)
m3=$(echo "${three[@]}" | median)
echo "median over $ROUNDS rounds of ${SECONDS_EACH}s, $CONNS connections, $(nproc) cores:" \
  "1 replica $m1 req/s, 3 replicas $m3 req/s, ratio $(awk -v a="$m3" -v b="$m1" 'BEGIN{printf "%.2f", a/b}')"
