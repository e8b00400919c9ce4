"""The ORM inserting N records one save() at a time and reading them back, through sqlgate vs its direct
backend, same run, same database; prints the throughput ratio (sqlgate / direct; target >= 0.5 on
PostgreSQL: one HTTP hop per statement is the cost).

    python bench/orm_bench.py [--records 1000] [--rounds 3] [--dbs postgres,mysql,sqlite]

Each round runs direct then sqlgate on a fresh table; the best round of each counts (least disturbed by
the other processes on the machine). The gateway is a real built one (support/gateway.py).
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE / "support"))
sys.path.insert(0, str(HERE / "tests"))
logging.disable(logging.CRITICAL)

from direct import direct_backend  # noqa: E402
from gateway import start_gateway  # noqa: E402
from models import PEOPLE_DDL, Person, bind  # noqa: E402

from conftest import DDL, connect  # noqa: E402


def one_round(backend, kind: str, n: int) -> float:
    table = f"bench_{uuid.uuid4().hex[:8]}"
    backend.execute(PEOPLE_DDL[kind].format(t=table), options=DDL)
    model = bind(Person, backend, table)
    try:
        start = time.perf_counter()
        for i in range(n):
            model(name=f"person {i}", email=f"p{i}@example.com", age=i % 90).save()
        got = model.query().order_by("id").all()
        took = time.perf_counter() - start
        assert len(got) == n and got[-1].email == f"p{n - 1}@example.com"
        return took
    finally:
        backend.execute(f"DROP TABLE IF EXISTS {table}", options=DDL)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dbs", default="postgres,mysql,sqlite")
    a = ap.parse_args()
    kinds = a.dbs.split(",")
    gw = start_gateway(kinds=kinds)
    try:
        print(f"{a.records} records inserted (one save() each) and read back; best of {a.rounds} rounds")
        print("| database | direct s | through sqlgate s | ratio (sqlgate/direct throughput) |")
        print("|---|---|---|---|")
        for kind in kinds:
            if kind in gw.skipped:
                print(f"[skip] {gw.skipped[kind]}", file=sys.stderr)
                continue
            direct = direct_backend(kind, sqlite_file=str(gw.dir / "gateway.sqlite"))
            remote = connect(gw, kind)
            d_best = s_best = float("inf")
            for _ in range(a.rounds):
                d_best = min(d_best, one_round(direct, kind, a.records))
                s_best = min(s_best, one_round(remote, kind, a.records))
            direct.disconnect()
            remote.disconnect()
            print(f"| {kind} | {d_best:.3f} | {s_best:.3f} | {d_best / s_best:.2f}x |", flush=True)
    finally:
        gw.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
