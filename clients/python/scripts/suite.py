"""Runs the ORM's testsuite (rhosocial-activerecord-testsuite) directly and through sqlgate on SQLite,
PostgreSQL and MariaDB, same machine, same run, and prints the pass-count table (docs/orm.md).

    python scripts/suite.py [--ci] [--groups basic,...] [--dbs sqlite,postgres,mysql] [--modes direct,sqlgate]

Each run is one pytest process in a fresh temp cwd (and TMPDIR) with our providers (suite/providers) on
the path. The sqlgate runs talk to a real gateway started here (support/gateway.py). "local DB" counts the
sqlite3.connect calls the providers' guard recorded during a sqlgate run plus SQLite files found in its
cwd/TMPDIR afterwards; it must be 0. With --ci the exit code is 1 when a sqlgate run passes fewer tests
than the direct run on the same database, or touched a local database.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, List

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE / "support"))
from gateway import NAMES, start_gateway  # noqa: E402

import rhosocial.activerecord.testsuite as testsuite  # noqa: E402

SUITE = Path(testsuite.__file__).resolve().parent
LABEL = {"sqlite": "SQLite", "postgres": "PostgreSQL", "mysql": "MariaDB"}


def sqlite_files(root: Path) -> List[str]:
    found = []
    for p in root.rglob("*"):
        try:
            if p.is_file() and p.open("rb").read(16) == b"SQLite format 3\x00":
                found.append(str(p))
        except OSError:
            pass
    return found


def run(db: str, mode: str, groups: List[str], url: str, keep: bool) -> Dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix=f"suite-{db}-{mode}-"))
    tmp = work / "tmp"
    tmp.mkdir()
    guard = work / "guard.txt"
    junit = work / "junit.xml"
    env = {
        **os.environ, "SQLGATE_SUITE_DB": db, "SQLGATE_SUITE_MODE": mode, "SQLGATE_URL": url,
        "SQLGATE_SUITE_BACKEND": NAMES[db], "PYTHONPATH": str(HERE / "suite"), "TMPDIR": str(tmp),
        "SQLGATE_SUITE_GUARD_FILE": str(guard), "SQLGATE_SUITE_SQLITE_FILE": str(tmp / "direct.sqlite"),
        "TZ": "UTC",
    }
    # asyncio_mode=auto: the testsuite's async tests and fixtures are plain `async def` (as in the ORM's own runs).
    args = [sys.executable, "-m", "pytest", "-p", "no:logging", "-p", "no:cacheprovider", "-q", "-o", "asyncio_mode=auto",
            "-o", "asyncio_default_fixture_loop_scope=function", "-p", "providers.exit_guard",
            f"--junitxml={junit}", *[str(SUITE / "feature" / g) for g in groups]]
    start = time.monotonic()
    with open(work / "pytest.log", "wb") as log:
        rc = subprocess.call(args, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    took = time.monotonic() - start
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    failed: List[str] = []
    if junit.exists():
        for suite in ET.parse(junit).getroot().iter("testsuite"):
            for k in counts:
                counts[k] += int(suite.get(k, 0))
        for case in ET.parse(junit).getroot().iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                failed.append(neutral_id(f"{case.get('classname')}::{case.get('name')}", mode))
    passed = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    local = guard.read_text().splitlines() if guard.exists() else []
    if mode == "sqlgate":
        local += [f"file {f}" for f in sqlite_files(work)]
    result = {"db": db, "mode": mode, "passed": passed, **counts, "rc": rc, "seconds": round(took, 1),
              "local": local, "failed": failed, "log": str(work / "pytest.log")}
    if keep:
        (work / "failed.txt").write_text("\n".join(failed))
    else:
        shutil.rmtree(work, ignore_errors=True)
        result["log"] = "(removed; --keep keeps it)"
    return result


def neutral_id(test_id: str, mode: str) -> str:
    """A test id without the mode: every fixture parameter named after it (`[sqlgate-sqlgate]` for a test
    with two backend fixtures) is blanked, so direct and sqlgate ids of the same case compare equal."""
    test_id = re.sub(r"\[([^\]]*)\]", lambda m: "[" + "-".join("" if p == mode else p for p in m.group(1).split("-")) + "]", test_id)
    return test_id.split("testsuite.feature.")[-1]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ci", action="store_true",
                    help="exit 1 when a sqlgate run passes fewer tests than the direct one or touches a local DB")
    ap.add_argument("--groups", default="basic,events,mixins,query,relation,interface")
    ap.add_argument("--dbs", default="sqlite,postgres,mysql")
    ap.add_argument("--modes", default="direct,sqlgate")
    ap.add_argument("--keep", action="store_true", help="keep each run's folder (pytest.log, junit.xml)")
    a = ap.parse_args()
    groups, dbs = a.groups.split(","), a.dbs.split(",")
    modes = a.modes.split(",")
    gw = start_gateway(kinds=dbs)
    results = []
    try:
        for db in dbs:
            if db in gw.skipped:
                print(f"[skip] {gw.skipped[db]}", file=sys.stderr)
                continue
            for mode in modes:
                r = run(db, mode, groups, gw.url, a.keep)
                results.append(r)
                print(f"{LABEL[db]:<10} {mode:<7} passed {r['passed']:>4} / {r['tests']:>4}  failed {r['failures']:>3}"
                      f"  errors {r['errors']:>3}  skipped {r['skipped']:>3}  local DB {len(r['local'])}  "
                      f"{r['seconds']} s  log {r['log']}", flush=True)
    finally:
        gw.stop()
    import importlib.metadata as md

    versions = ", ".join(f"{p} {md.version(p)}" for p in (
        "rhosocial-activerecord", "rhosocial-activerecord-testsuite", "rhosocial-activerecord-postgres",
        "rhosocial-activerecord-mysql"))
    print(f"\nTestsuite groups: {', '.join(groups)}; {versions}\n")
    print("| database | direct passed | through sqlgate passed | of tests | sqlgate-only failures | local DB touched |")
    print("|---|---|---|---|---|---|")
    ok = True
    for db in dbs:
        by = {r["mode"]: r for r in results if r["db"] == db}
        if not by:
            continue
        d, s = by.get("direct"), by.get("sqlgate")
        only = sorted(set(s["failed"]) - set(d["failed"])) if d and s else []
        print(f"| {LABEL[db]} | {d['passed'] if d else '—'} | {s['passed'] if s else '—'} | "
              f"{(s or d)['tests']} | {len(only) if d and s else '—'} | {len(s['local']) if s else '—'} |")
        for name in only:
            print(f"    sqlgate-only failure: {name}", file=sys.stderr)
        if s:
            for line in s["local"][:20]:
                print(f"    local database touched: {line}", file=sys.stderr)
            ok = ok and not s["local"] and s["tests"] > 0
            if d:
                ok = ok and s["passed"] >= d["passed"]
    return 0 if ok or not a.ci else 1


if __name__ == "__main__":
    sys.exit(main())
