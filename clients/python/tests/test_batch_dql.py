"""execute_batch_dql: pages streamed as NDJSON outside a transaction, the transaction's view inside."""
from __future__ import annotations

import pytest

from conftest import DDL, DML, DQL, ph, rows


class Sql:
    """The one thing execute_batch_dql asks of an expression."""

    def __init__(self, sql, params=()):
        self.sql, self.params = sql, tuple(params)

    def to_sql(self):
        return self.sql, self.params


@pytest.fixture
def filled(kind, remote, direct, table):
    direct.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, label VARCHAR(40), big BIGINT)", options=DDL)
    p = ph(kind)
    remote.execute_many(f"INSERT INTO {table} (id, label, big) VALUES ({p}, {p}, {p})",
                        [(i, f"row {i}", 2**60 + i) for i in range(2500)])
    return table


def test_pages_in_order_with_exact_values(kind, remote, direct, filled):
    p = ph(kind)
    q = Sql(f"SELECT id, label, big FROM {filled} WHERE id >= {p} ORDER BY id", (0,))
    pages = list(remote.execute_batch_dql(q, page_size=1000))
    assert [pg.page_size for pg in pages] == [1000, 1000, 500]
    assert [pg.page_index for pg in pages] == [0, 1, 2]
    assert [pg.has_more for pg in pages] == [True, True, False]
    got = [r for pg in pages for r in pg.data]
    assert got == rows(direct, f"SELECT id, label, big FROM {filled} ORDER BY id")
    assert got[-1] == {"id": 2499, "label": "row 2499", "big": 2**60 + 2499}


def test_other_statements_while_iterating_and_early_stop(kind, remote, direct, filled):
    seen = 0
    for page in remote.execute_batch_dql(Sql(f"SELECT id FROM {filled} ORDER BY id"), page_size=100):
        # The stream has its own connection: the session still answers in between.
        remote.execute(f"UPDATE {filled} SET label = 'seen' WHERE id = {page.data[0]['id']}", options=DML)
        seen += 1
        if seen == 3:
            break  # closing early drops the stream; the gateway cancels the query
    assert rows(direct, f"SELECT COUNT(*) AS n FROM {filled} WHERE label = 'seen'") == [{"n": 3}]
    assert rows(remote, f"SELECT COUNT(*) AS n FROM {filled}") == [{"n": 2500}]


def test_inside_a_transaction_sees_its_own_rows(kind, remote, filled):
    tm = remote.transaction_manager
    tm.begin()
    try:
        remote.execute(f"INSERT INTO {filled} (id, label, big) VALUES (9999, 'mine', 1)", options=DML)
        pages = list(remote.execute_batch_dql(Sql(f"SELECT id FROM {filled} WHERE id > 2400 ORDER BY id"), page_size=50))
        ids = [r["id"] for pg in pages for r in pg.data]
        assert ids[-1] == 9999 and len(ids) == 100
    finally:
        tm.rollback()
    assert rows(remote, f"SELECT COUNT(*) AS n FROM {filled} WHERE id = 9999") == [{"n": 0}]


def test_error_in_the_stream(kind, remote):
    from rhosocial.activerecord.backend import errors as orm

    with pytest.raises(orm.DatabaseError):
        list(remote.execute_batch_dql(Sql("SELECT * FROM no_such_table_here")))
    assert rows(remote, "SELECT 1 AS one") == [{"one": 1}]
