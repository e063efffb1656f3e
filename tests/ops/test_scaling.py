"""The Citus plan covers every table, holds to today's schema, and docs/scaling.md is its output.

Plain functions over `Base.metadata`: no database."""

from __future__ import annotations

import importlib
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import ForeignKeyConstraint, Table, UniqueConstraint

from redcard.models import Base
from redcard.ops import scaling
from redcard.ops.scaling import NEW_TABLES
from redcard.ops.scaling_plan import TABLES
from redcard.ops.scaling_types import Placement, Problem, TablePlan

ROOT = Path(__file__).resolve().parents[2]
METADATA = Base.metadata
PLANS = scaling.plans_by_table()


def _distributed() -> list[TablePlan]:
    return [p for p in TABLES if p.placement == Placement.distributed]


def test_every_table_has_a_declaration() -> None:
    missing = sorted(set(METADATA.tables) - set(PLANS))
    assert not missing, (
        f"no Citus placement declared for {missing}: add it to src/redcard/ops/scaling_plan.py "
        "(and give a member's or merchant's table its owner's key column)"
    )


def test_every_declaration_names_a_table_once() -> None:
    unknown = sorted(set(PLANS) - set(METADATA.tables))
    assert not unknown, f"declared but not in Base.metadata: {unknown}"
    twice = [name for name, n in Counter(p.table for p in TABLES).items() if n > 1]
    assert not twice, f"declared more than once: {twice}"


def test_new_tables_are_not_in_the_metadata_yet() -> None:
    made = [n.table for n in NEW_TABLES if n.table in METADATA.tables]
    assert not made, f"{made} exist now: move them from scaling.NEW_TABLES to scaling_plan.TABLES"


def test_only_distributed_tables_have_a_distribution() -> None:
    for plan in TABLES:
        has = plan.distribution is not None
        assert has == (plan.placement == Placement.distributed), plan.table


@pytest.mark.parametrize("plan", _distributed(), ids=lambda p: p.table)
def test_distribution_column_exists_or_says_it_must_be_added(plan: TablePlan) -> None:
    dist = plan.distribution
    assert dist is not None
    table = METADATA.tables[plan.table]
    added = [
        b for b in plan.blockers if b.problem == Problem.missing_column and b.columns[0] in table.c
    ]
    assert not added, f"{plan.table}: a missing-column blocker names a column that exists"
    if dist.column_exists_today:
        assert dist.column in table.c, (
            f"{plan.table}.{dist.column} does not exist: set column_exists_today=False and add "
            "a missing-column blocker with the change that adds it"
        )
    else:
        assert dist.column not in table.c, f"{plan.table}.{dist.column} exists now: say so"
        assert any(
            b.problem == Problem.missing_column and b.columns == (dist.column,)
            for b in plan.blockers
        ), f"{plan.table}: {dist.column} is missing today but no blocker says how it is added"


@pytest.mark.parametrize("plan", _distributed(), ids=lambda p: p.table)
def test_colocation_targets_start_a_group_of_the_same_key(plan: TablePlan) -> None:
    dist = plan.distribution
    assert dist is not None
    if dist.colocate_with is None:
        return
    target = PLANS.get(dist.colocate_with)
    assert target is not None, f"{plan.table} colocates with undeclared {dist.colocate_with}"
    assert target.placement == Placement.distributed, (
        f"{plan.table} colocates with {target.table}, which is {target.placement}"
    )
    assert target.distribution is not None
    assert target.distribution.key == dist.key, (
        f"{plan.table} ({dist.key}) colocates with {target.table} ({target.distribution.key})"
    )
    assert target.distribution.colocate_with is None, (
        f"{plan.table}: colocate with the group's first table, not {target.table}"
    )


def test_each_key_has_one_group() -> None:
    firsts = Counter(
        p.distribution.key for p in _distributed() if p.distribution.colocate_with is None
    )
    firsts.update(n.distribution.key for n in NEW_TABLES)
    assert all(n == 1 for n in firsts.values()), firsts
    assert set(firsts) == set(scaling.KEYS), "every key is described once"


def _constraint_columns(table: Table, name: str) -> tuple[tuple[str, ...], str] | None:
    """The named constraint or unique index of the table, as (columns, what it is)."""
    if table.primary_key.name == name:
        return tuple(c.name for c in table.primary_key.columns), "primary key"
    for c in table.constraints:
        if c.name != name:
            continue
        if isinstance(c, UniqueConstraint):
            return tuple(col.name for col in c.columns), "unique"
        if isinstance(c, ForeignKeyConstraint):
            return tuple(col.name for col in c.columns), "foreign key"
    for index in table.indexes:
        if index.name == name and index.unique:
            return tuple(col.name for col in index.columns), "unique"
    return None


@pytest.mark.parametrize("plan", [p for p in TABLES if p.blockers], ids=lambda p: p.table)
def test_blockers_name_constraints_that_exist_today(plan: TablePlan) -> None:
    table = METADATA.tables[plan.table]
    for blocker in plan.blockers:
        if blocker.problem == Problem.missing_column:
            assert blocker.constraint is None
            continue
        assert blocker.constraint is not None, f"{plan.table}: a {blocker.problem} has no name"
        found = _constraint_columns(table, blocker.constraint)
        assert found is not None, f"{plan.table} has no constraint {blocker.constraint} today"
        columns, what = found
        assert what == blocker.problem, f"{blocker.constraint} is a {what}"
        assert columns == blocker.columns, (
            f"{blocker.constraint} is on {columns} today, the plan says {blocker.columns}"
        )


def test_blockers_are_exactly_what_citus_would_refuse() -> None:
    """Citus's rules applied to today's metadata: a new unique key or foreign key that breaks a
    placement must be declared with its change, and a constraint that is gone must leave."""
    found = scaling.conflicts(METADATA, PLANS)
    declared = scaling.declared_conflicts()
    undeclared = sorted(
        f"{c.table}: {c.problem} {c.constraint} {c.columns}" for c in found - declared
    )
    stale = sorted(f"{c.table}: {c.problem} {c.constraint} {c.columns}" for c in declared - found)
    assert not undeclared, f"blocks the placement but no blocker says how to fix it: {undeclared}"
    assert not stale, f"declared blockers that do not block today: {stale}"


def test_the_rules_catch_a_unique_key_without_the_owner() -> None:
    """The check above is only as good as `conflicts`: it must see the issue's examples."""
    found = {(c.table, c.constraint) for c in scaling.conflicts(METADATA, PLANS)}
    assert ("users", "uq_users_phone") in found
    assert ("journal_entries", "uq_journal_entries_kind_ref") in found
    assert ("merchants", "fk_merchants_owner_id_users") in found
    assert ("orders", "pk_orders") in found
    assert ("memberships", "fk_memberships_member_id_users") not in found  # colocated, on key


@pytest.mark.parametrize("query", scaling.CROSS_SHARD, ids=lambda q: q.what)
def test_cross_shard_queries_name_code_and_tables_that_exist(query: scaling.CrossShard) -> None:
    target: object = importlib.import_module(query.module)
    for part in query.function.split("."):
        assert hasattr(target, part), f"{query.module}.{query.function} is gone: update the plan"
        target = getattr(target, part)
    unknown = [t for t in query.tables if t not in METADATA.tables]
    assert not unknown, f"{query.what}: no table {unknown}"


def test_the_citus_script_places_every_table_before_its_colocated_ones() -> None:
    script = scaling.citus_script(METADATA)
    placed = {p.table for p in TABLES if p.placement != Placement.local}
    placed |= {n.table for n in NEW_TABLES}
    assert len(script) == len(placed)
    seen: list[str] = []
    for call in script:
        table = call.split("'")[1]
        plan = PLANS.get(table)
        if plan is not None and plan.distribution and plan.distribution.colocate_with:
            assert plan.distribution.colocate_with in seen, call
        seen.append(table)


def test_scaling_doc_is_generated_from_the_plan(capsys: pytest.CaptureFixture[str]) -> None:
    scaling.main()
    text = capsys.readouterr().out
    assert text == scaling.render()
    assert (ROOT / "docs" / "scaling.md").read_text(encoding="utf-8") == text, (
        "docs/scaling.md is stale: run `python -m redcard.ops.scaling > docs/scaling.md`"
    )
    for plan in TABLES:
        assert f"`{plan.table}`" in text
