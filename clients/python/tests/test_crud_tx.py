"""CRUD through an ActiveRecord model, transactions with savepoints, execute_many; checked in the database
through the ORM's direct backend."""
from __future__ import annotations

import pytest

from conftest import DDL, ph, rows
from models import PEOPLE_DDL, Person, bind


@pytest.fixture
def people(kind, remote, direct, table):
    direct.execute(PEOPLE_DDL[kind].format(t=table), options=DDL)
    return bind(Person, remote, table)


def in_db(direct, table):
    return [(r["name"], r["email"], r["age"]) for r in rows(direct, f"SELECT name, email, age FROM {table} ORDER BY id")]


def test_crud(people, direct, table):
    ada = people(name="Ada", email="ada@example.com", age=36)
    ada.save()
    bob = people(name="Bob", email="bob@example.com")
    bob.save()
    assert ada.id != bob.id and isinstance(ada.id, int)
    assert in_db(direct, table) == [("Ada", "ada@example.com", 36), ("Bob", "bob@example.com", None)]

    found = people.find_one(ada.id)
    assert (found.name, found.email, found.age) == ("Ada", "ada@example.com", 36)
    assert people.query().where("age IS NULL").count() == 1
    assert [p.name for p in people.query().order_by("name").all()] == ["Ada", "Bob"]

    found.age = 37
    found.save()
    assert in_db(direct, table)[0] == ("Ada", "ada@example.com", 37)

    bob.delete()
    assert in_db(direct, table) == [("Ada", "ada@example.com", 37)]
    assert people.find_one(bob.id) is None


def test_transaction_commits_and_rolls_back(people, direct, table):
    with people.transaction():
        people(name="In", email="in@example.com").save()
    assert in_db(direct, table) == [("In", "in@example.com", None)]

    with pytest.raises(RuntimeError):
        with people.transaction():
            people(name="Out", email="out@example.com").save()
            # Visible inside the transaction, through the same session ...
            assert people.query().count() == 2
            raise RuntimeError("abort")
    # ... and gone after the rollback.
    assert in_db(direct, table) == [("In", "in@example.com", None)]
    assert not people.backend().transaction_manager.is_active


def test_nested_transaction_is_a_savepoint(people, direct, table):
    with people.transaction():
        people(name="Outer", email="outer@example.com").save()
        with pytest.raises(ValueError):
            with people.transaction():
                people(name="Inner", email="inner@example.com").save()
                raise ValueError("inner only")
        with people.transaction():
            people(name="Kept", email="kept@example.com").save()
    assert in_db(direct, table) == [("Outer", "outer@example.com", None), ("Kept", "kept@example.com", None)]


def test_savepoint_api(people, remote, direct, table):
    tm = remote.transaction_manager
    tm.begin()
    people(name="A", email="a@example.com").save()
    sp = tm.savepoint("before_b")
    people(name="B", email="b@example.com").save()
    tm.rollback_to(sp)
    people(name="C", email="c@example.com").save()
    # Nothing is visible outside before the commit.
    assert in_db(direct, table) == []
    tm.commit()
    assert [n for n, _, _ in in_db(direct, table)] == ["A", "C"]


def test_execute_many(kind, people, remote, direct, table):
    p = ph(kind)
    sets = [(f"n{i}", f"n{i}@example.com", i) for i in range(250)]
    result = remote.execute_many(f"INSERT INTO {table} (name, email, age) VALUES ({p}, {p}, {p})", sets)
    assert result.affected_rows == 250
    assert in_db(direct, table) == sets


def test_execute_many_inside_a_transaction_rolls_back(kind, people, remote, direct, table):
    p = ph(kind)
    with pytest.raises(RuntimeError):
        with people.transaction():
            remote.execute_many(f"INSERT INTO {table} (name, email, age) VALUES ({p}, {p}, {p})",
                                [("x", "x@example.com", 1), ("y", "y@example.com", 2)])
            raise RuntimeError("abort")
    assert in_db(direct, table) == []


def test_execute_many_stops_on_a_failing_set(kind, people, remote, direct, table):
    from rhosocial.activerecord.backend.errors import IntegrityError

    p = ph(kind)
    with pytest.raises(IntegrityError):
        remote.execute_many(f"INSERT INTO {table} (name, email, age) VALUES ({p}, {p}, {p})",
                            [("x", "dup@example.com", 1), ("y", "dup@example.com", 2)])
    # One request, all-or-nothing: the first set is not left behind.
    assert in_db(direct, table) == []
