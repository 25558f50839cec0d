"""Steps as a journal needs them: stable ids, phases, lock levels, and done-checks that tell
from the catalog whether a step already happened (unit tests need no database; the last test
applies a plan to a real one)."""

from __future__ import annotations

import psycopg
import pytest
import sqlglot
from sqlglot import exp
from test_render import plan_for, shop

from uuidpk.catalog import read_catalog
from uuidpk.errors import Refused
from uuidpk.executor import apply_offline
from uuidpk.graph import Graph
from uuidpk.model import QualifiedName
from uuidpk.ops import (
    AnyOf,
    ColumnHasType,
    ConstraintExists,
    IndexValid,
    LockLevel,
    Options,
    Phase,
    Plan,
    RelationExists,
    Step,
)
from uuidpk.planning import plan_conversion
from uuidpk.render import check_sql, done_sql
from uuidpk.sample import load_shop

FULL = Options(key=b"k" * 32, mapping_table=True, keep_old_id="old_id")


def test_step_ids_are_unique_and_stable_when_a_second_closure_joins() -> None:
    _, one = plan_for(shop(), "order_order", options=FULL)
    _, two = plan_for(shop(), "order_order", "giftcard_giftcard", options=FULL)
    assert len(two.closures) == len(one.closures) + 1
    for plan in (one, two):
        ids = [s.id for s in plan.steps]
        assert len(ids) == len(set(ids)), ids
    assert {s.id: s.name for s in one.steps}.items() <= {s.id: s.name for s in two.steps}.items()
    assert [s.id for s in one.steps] == [
        "prepare",
        "write-mapping-tables",
        "drop-foreign-keys",
        "drop-identity",
        "convert-columns",
        "restore-foreign-keys",
        "drop-sequences",
        "analyze",
    ]


def test_offline_steps_are_transactional_and_name_the_strongest_lock() -> None:
    _, plan = plan_for(shop(), "order_order", options=FULL)
    assert {s.phase for s in plan.steps} == {Phase.OFFLINE}
    assert all(s.transactional for s in plan.steps)
    locks = {s.id: s.lock for s in plan.steps}
    assert locks == {
        "prepare": LockLevel.ACCESS_EXCLUSIVE,  # LOCK TABLE ... IN ACCESS EXCLUSIVE MODE
        "write-mapping-tables": LockLevel.ACCESS_SHARE,  # reads the roots into new tables
        "drop-foreign-keys": LockLevel.ACCESS_EXCLUSIVE,
        "drop-identity": LockLevel.ACCESS_EXCLUSIVE,
        "convert-columns": LockLevel.ACCESS_EXCLUSIVE,
        "restore-foreign-keys": LockLevel.SHARE_ROW_EXCLUSIVE,  # ADD FOREIGN KEY
        "drop-sequences": LockLevel.ACCESS_EXCLUSIVE,  # DROP SEQUENCE
        "analyze": LockLevel.SHARE_UPDATE_EXCLUSIVE,  # ANALYZE
    }


def _parsed(statement: str) -> exp.Expression:
    (tree,) = sqlglot.parse(statement, read="postgres")
    assert tree is not None
    return tree


def test_done_checks_render_as_one_select_of_one_boolean() -> None:
    _, plan = plan_for(shop(), "order_order", options=FULL)
    rendered = {s.id: done_sql(s) for s in plan.steps}
    assert rendered["prepare"] is None  # settings, locks, pg_temp: nothing in the catalog
    for step_id, statement in rendered.items():
        if statement is None:
            continue
        text = statement.as_string(None)
        tree = _parsed(text)
        assert isinstance(tree, exp.Select), step_id
        assert [e.alias_or_name for e in tree.expressions] == ["done"], step_id
        assert not list(tree.find_all(exp.Insert, exp.Update, exp.Delete, exp.Create, exp.Drop))
    convert = next(s for s in plan.steps if s.id == "convert-columns")
    text = done_sql(convert).as_string(None)  # type: ignore[union-attr]
    assert "'order_order'" in text and "'original_id'" in text and "'uuid'::regtype" in text


def test_checks_negate_and_combine() -> None:
    table = QualifiedName("App", 'Order "x"')
    gone = check_sql(ConstraintExists(table, "fk", exists=False)).as_string(None)
    assert gone.startswith("NOT EXISTS") and "'Order \"x\"'" in gone
    seq = check_sql(RelationExists(QualifiedName("s", "q"), "S")).as_string(None)
    assert seq.startswith("EXISTS") and "'S'" in seq
    either = check_sql(
        AnyOf((ConstraintExists(table, "fk", False), ColumnHasType(table, "id", "uuid")))
    ).as_string(None)
    assert either.startswith("(NOT EXISTS") and ") OR EXISTS" in either
    _parsed(f"SELECT {either}")
    valid = check_sql(IndexValid(QualifiedName("s", "i"))).as_string(None)
    assert valid.startswith("EXISTS") and "indisvalid" in valid


def _done(conn: psycopg.Connection, step: Step) -> bool | None:
    statement = done_sql(step)
    if statement is None:
        return None
    row = conn.execute(statement).fetchone()
    assert row is not None
    return bool(row[0])


def _shop_with_dependents(conn: psycopg.Connection) -> None:
    """The shop plus what the plan must drop and restore, and an identity key."""
    load_shop(conn, orders=30)
    conn.execute(
        """
        CREATE VIEW public.order_totals AS SELECT id, total FROM public.order_order;
        ALTER TABLE public.payment_payment ENABLE ROW LEVEL SECURITY;
        CREATE POLICY own_orders ON public.payment_payment USING (order_id IS NOT NULL);
        CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql
            AS $$ BEGIN RETURN NEW; END $$;
        CREATE TRIGGER invoice_order_changed BEFORE UPDATE OF order_id
            ON public.invoice_invoice FOR EACH ROW EXECUTE FUNCTION public.touch();
        CREATE TABLE public.note (
            id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            order_id integer REFERENCES public.order_order (id)
        );
        INSERT INTO public.note (order_id) SELECT id FROM public.order_order LIMIT 5;
        """
    )


def _plan(conn: psycopg.Connection) -> Plan:
    graph = Graph(read_catalog(conn))
    return plan_conversion(graph, graph.all_keys(), FULL)


def test_every_done_check_is_false_before_and_true_after_apply(conn: psycopg.Connection) -> None:
    _shop_with_dependents(conn)
    plan = _plan(conn)
    ids = [s.id for s in plan.steps]
    assert "drop-dependents" in ids and "restore-dependents" in ids and "drop-identity" in ids
    checked = [s for s in plan.steps if s.done]
    # Locks and settings last as long as the session; ANALYZE leaves nothing a check can tell
    # apart from an earlier autovacuum's statistics.
    assert [s.id for s in plan.steps if not s.done] == ["prepare", "analyze"]
    assert {s.id: _done(conn, s) for s in checked} == {s.id: False for s in checked}
    apply_offline(conn, plan)
    assert {s.id: _done(conn, s) for s in checked} == {s.id: True for s in checked}
    assert _plan(conn).is_empty or not _plan(conn).steps


def test_apply_offline_refuses_a_step_that_cannot_run_in_a_transaction(
    conn: psycopg.Connection,
) -> None:
    conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
    plan = _plan(conn)
    outside = Step("build index", (), "build-index", Phase.PREPARE, None, transactional=False)
    with pytest.raises(Refused, match="build-index"):
        apply_offline(conn, Plan(plan.keys, plan.closures, plan.problems, (*plan.steps, outside)))
    assert conn.execute(
        "SELECT format_type(atttypid, NULL) FROM pg_attribute "
        "WHERE attrelid = 't'::regclass AND attname = 'id'"
    ).fetchone() == ("integer",)
