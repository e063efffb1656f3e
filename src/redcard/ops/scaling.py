"""docs/scaling.md, generated from the plan in `ops/scaling_plan.py`:
`python -m redcard.ops.scaling > docs/scaling.md`.

Pure Python: it reads `Base.metadata`, never a database, and needs no Citus. `conflicts()`
applies Citus's rules for unique and foreign keys to the metadata as it is today, so a test can
hold every declared blocker to the schema.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import ForeignKeyConstraint, MetaData, Table, UniqueConstraint

from redcard.models import Base
from redcard.ops.scaling_plan import TABLES
from redcard.ops.scaling_types import (
    CrossShard,
    Distribution,
    Figure,
    Key,
    NewTable,
    Placement,
    Problem,
    Step,
    TablePlan,
)


@dataclass(frozen=True, slots=True)
class KeyInfo:
    values: str
    type_: str


KEYS: Mapping[Key, KeyInfo] = {
    Key.member: KeyInfo("a user's id: a member's, or a staff member's or operator's", "uuid"),
    Key.merchant: KeyInfo("a merchant's id (merchants itself is a reference table)", "uuid"),
    Key.ledger_owner: KeyInfo(
        "an account's owner: a member or merchant id, '' for platform", "text"
    ),
    Key.caller: KeyInfo("the caller of an idempotent call: `terminal:<id>`, `user:<id>`", "text"),
    Key.lookup: KeyInfo("a globally unique value: a phone number, an out_trade_no, …", "text"),
}


_PER_SHARD_CLAIM = (
    "Citus runs FOR UPDATE SKIP LOCKED only on a one-shard query: the worker leases one shard "
    "at a time and claims that shard's due rows on its node (shard names from `citus_shards`)"
)

CROSS_SHARD: tuple[CrossShard, ...] = (
    CrossShard(
        "till prepare",
        "redcard.redemption.service",
        "prepare",
        ("member_codes", "memberships", "redemptions", "stores", "code_locks"),
        "The handle resolves to the member through global_keys; the member's code secret, card "
        "and code burns are one read on the member's shard; store, terms and locks are "
        "reference rows; the prepared row goes to the merchant's shard. Routed statements, no "
        "fan-out.",
        "today's one read (store, lock, handles and cards joined) becomes three routed reads, "
        "and the prepared row's INSERT … WHERE NOT EXISTS (burn) a read and a plain insert",
    ),
    CrossShard(
        "till commit",
        "redcard.redemption.service",
        "commit",
        ("redemptions", "memberships", "code_burns", "journal_lines", "idempotency_keys"),
        "One transaction over the merchant's shard (the redemption), the member's (card, code "
        "burn), the ledger owners' (savings memo) and the caller's (Idempotency-Key), committed "
        "by Citus with two-phase commit. Every statement names its shard: it costs round trips, "
        "not capacity. Measure with bench/redemption.py on the cluster before adopting it.",
        "the card check leaves the commit's UPDATE: a read FOR SHARE on the member's shard first",
    ),
    CrossShard(
        "daily settlement",
        "redcard.settlement.service",
        "settle_day",
        ("redemptions", "statements", "statement_lines", "payments", "refunds"),
        "Finding the merchants with unsettled redemptions fans out once a day; each merchant's "
        "day then runs on its own shard (redemptions, statements and lines colocated). The "
        "bills' payment and refund references are read per merchant-day in one batch. It runs "
        "per merchant, in the worker, never at a till.",
    ),
    CrossShard(
        "due refunds",
        "redcard.payments.refunds",
        "claim_due",
        ("refunds",),
        "Each claimed refund is then settled on its member's shard.",
        _PER_SHARD_CLAIM,
    ),
    CrossShard(
        "notification outbox",
        "redcard.delivery.service",
        "send_pending",
        ("notifications", "notification_deliveries"),
        "At-least-once already, keyed per sink: a per-shard claim changes only which worker "
        "sends what.",
        _PER_SHARD_CLAIM,
    ),
    CrossShard(
        "stale payments",
        "redcard.worker",
        "Worker._sync_stale_payments",
        ("payments",),
        "A minute-old pending payment is rare; each is synced on its member's shard.",
        _PER_SHARD_CLAIM,
    ),
    CrossShard(
        "sunset: cards suspended at the cut-off",
        "redcard.sunset.tasks",
        "end_benefits",
        ("memberships",),
        "Chunks of 50,000 cards shared by the workers: per shard they are shared the same way.",
        _PER_SHARD_CLAIM,
    ),
    CrossShard(
        "sunset approval",
        "redcard.sunset.service",
        "approve",
        ("memberships", "orders", "payments", "sunset_items", "refunds", "notifications"),
        "Reads every active card with its order and payment and writes an item, a reserved "
        "refund and a notice per card: all in the member group, joined on member_id, so each "
        "INSERT … SELECT is pushed down to every shard in parallel. A one-off bulk operation, "
        "approved by two operators with sales closed.",
        "the temporary selection (coordinator-local) becomes a colocated INSERT … SELECT; the "
        "refunds' out_refund_no rows go to global_keys in one more (repartitioned by value)",
    ),
    CrossShard(
        "sunset dry run",
        "redcard.sunset.service",
        "dry_run",
        ("memberships", "orders", "payments", "refunds"),
        "One grouped read over every card: per-shard partial sums added on the coordinator, "
        "for an operator who waits about a second today. Once per campaign.",
    ),
    CrossShard(
        "bill reconciliation",
        "redcard.sunset.reconcile",
        "reconcile_csv",
        ("payments", "refunds"),
        "The channel's bill lines are matched by out_trade_no and out_refund_no: staged in a "
        "table distributed by the reference, joined to global_keys on one shard each, then to "
        "the members' rows. Once per bill day, a batch job.",
        "the staging table is distributed by reference (today a temporary table)",
    ),
    CrossShard(
        "ledger check",
        "redcard.ledger.service",
        "check",
        ("ledger_accounts", "journal_entries", "journal_lines"),
        "Every entry balanced, every balance equal to its lines: an audit over all shards, run "
        "by an operator or a schedule; it can read the replica.",
    ),
    CrossShard(
        "a member's redemptions",
        "redcard.redemption.repository",
        "list_for_member",
        ("redemptions",),
        "Redemptions are sharded by merchant: one member's page asks every shard, each answering "
        "from ix_redemptions_member_committed_at with a LIMIT. A member's savings total needs no "
        "fan-out (the ledger's account, on one shard).",
    ),
    CrossShard(
        "a paid 买单 finds its redemption",
        "redcard.storepay.service",
        "_on_paid",
        ("orders", "redemptions"),
        "The channel's confirmation locks the 买单's redemption by its order id.",
        "a FOR UPDATE must name one shard: store_bill orders carry the store's merchant_id and "
        "the lookup names it",
    ),
    CrossShard(
        "waitlist promotion",
        "redcard.events.repository",
        "first_waitlisted",
        ("event_registrations",),
        "The first waitlisted member of one event: asked of every shard, on a cancellation only; "
        "an event has hundreds of registrations, not millions.",
    ),
    CrossShard(
        "lapsed cards expire",
        "redcard.membership.repository",
        "expire_lapsed",
        ("memberships",),
        "One multi-shard UPDATE, run in parallel on every shard by the worker; it takes no row "
        "locks beyond the rows it changes.",
    ),
    CrossShard(
        "queue depths and report counts",
        "redcard.ops.endpoints",
        "database_gauges",
        ("refunds", "notifications", "notification_deliveries", "payments"),
        "Counts over every shard for /metrics, read through `report_scope` "
        "(the replica), so they never hold up a till.",
    ),
)


FIGURES: tuple[Figure, ...] = (
    Figure(
        "till: prepare + commit over HTTP, 32 clients, one uvicorn worker",
        "570–603 redemptions/s, p99 40.0–42.3 ms per request (pgbench, same SQL: 1,671–1,916/s)",
        ".venv/bin/python bench/redemption.py --seconds 15",
    ),
    Figure(
        "program sunset: approve → all refunded → reconciled, 2 worker processes",
        "1,000,000 cards in 148.7 s and 153.0 s (target 180 s), peak RSS 159–161 MB",
        ".venv/bin/python bench/sunset.py",
    ),
    Figure(
        "daily settlement: 20,000 买单 bills over 50 merchants",
        "2,068 and 2,150 bills/s (target 2,000)",
        ".venv/bin/python bench/settlement.py",
    ),
)


STEPS: tuple[Step, ...] = (
    Step(
        "Owner keys everywhere",
        "Add member_id to payments, refunds and channel_events, merchant_id to statement_lines "
        "and to store_bill orders, owner_key to journal_entries and journal_lines: nullable, "
        "backfilled in batches from the parent row, then NOT NULL (add, backfill, enforce). "
        "New tables carry their owner's key from the start.",
    ),
    Step(
        "The lookup table",
        "Create global_keys; write it beside every phone number, code handle, out_trade_no, "
        "out_refund_no and check-in code; backfill it; then move the readers (login, the till's "
        "handle, callbacks and status queries, reconciliation, check-in) to it.",
    ),
    Step(
        "Composite keys",
        "UNIQUE (owner, id) on each parent first, then the foreign keys repointed to (owner, "
        "parent id), then the primary keys swapped to (owner, id) and each unique constraint "
        "replaced by its owner-leading twin (CREATE UNIQUE INDEX CONCURRENTLY, then the swap).",
    ),
    Step(
        "Foreign keys across placements dropped",
        "Those listed below; each check moves into the service that writes the row (most "
        "already read or lock the parent in the same transaction).",
    ),
    Step(
        "Code that names one shard",
        "Per-shard worker claims, session tokens that carry the user id, the till's card check "
        "apart from its UPDATE, 买单 lookups by order that name the merchant, approval's "
        "selection as a colocated INSERT … SELECT (the changes under cross-shard queries).",
    ),
    Step(
        "On the cluster",
        "The reference tables, then each group's first table with colocate_with => 'none', "
        "then the rest of the group, parents first (the script below, generated from the "
        "plan); the local tables stay on the coordinator. Then bench/redemption.py and "
        "bench/sunset.py against the cluster, to compare with one PostgreSQL.",
    ),
)


NEW_TABLES: tuple[NewTable, ...] = (
    NewTable(
        "global_keys",
        "kind text, value text, owner_id uuid, row_id uuid, PRIMARY KEY (value, kind)",
        Distribution(Key.lookup, "value"),
        "Values that must be unique across all members but are looked up without the owner: "
        "one row per value, inserted in the transaction that writes the owning row (a "
        "duplicate fails there, as the unique constraint does today), read first to route to "
        "the owner's shard.",
        ("phone", "code_handle", "out_trade_no", "out_refund_no", "checkin_code"),
    ),
)

OUT_OF_SCOPE: tuple[tuple[str, str], ...] = (
    (
        "alembic_version",
        "local on the coordinator: migrations run there and Citus propagates their DDL",
    ),
    (
        "sandbox_trades, sandbox_refunds, sandbox_notifications",
        "the sandbox channel's own books (`redcard.payments.sandbox.meta`), another party's "
        "tables: a real channel keeps them on its side",
    ),
)


@dataclass(frozen=True, slots=True)
class Conflict:
    table: str
    problem: Problem
    constraint: str | None
    columns: tuple[str, ...]


def plans_by_table() -> dict[str, TablePlan]:
    return {plan.table: plan for plan in TABLES}


def _uniques(table: Table) -> Iterable[tuple[str, tuple[str, ...]]]:
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint):
            yield str(constraint.name), tuple(c.name for c in constraint.columns)
    for index in table.indexes:
        if index.unique:
            yield str(index.name), tuple(c.name for c in index.columns)


def _fk_conflict(plan: TablePlan, fk: ForeignKeyConstraint, parent: TablePlan | None) -> bool:
    """Whether Citus refuses this foreign key under the two tables' placements."""
    if parent is None or parent.placement == Placement.reference:
        return False  # pointing at a reference table is allowed from any placement
    if plan.placement == Placement.local:
        return parent.placement != Placement.local
    if plan.placement == Placement.reference:
        return True  # a reference table may point only at reference tables
    if parent.placement != Placement.distributed:
        return True
    mine, theirs = plan.distribution, parent.distribution
    assert mine is not None
    assert theirs is not None
    pairs = {(e.parent.name, e.column.name) for e in fk.elements}
    return mine.key != theirs.key or (mine.column, theirs.column) not in pairs


def conflicts(metadata: MetaData, plans: Mapping[str, TablePlan]) -> set[Conflict]:
    """What blocks each declared placement in today's schema, by Citus's rules: a distributed
    table's primary key and unique keys include its distribution column; foreign keys between
    distributed tables join colocated tables on their distribution columns; a reference table
    points only at reference tables; a local one at local or reference tables."""
    found: set[Conflict] = set()
    for name, table in metadata.tables.items():
        plan = plans.get(name)
        if plan is None:
            continue
        dist = plan.distribution
        if plan.placement == Placement.distributed and dist is not None:
            if dist.column not in table.c:
                found.add(Conflict(name, Problem.missing_column, None, (dist.column,)))
            pk = tuple(c.name for c in table.primary_key.columns)
            if dist.column not in pk:
                found.add(Conflict(name, Problem.primary_key, str(table.primary_key.name), pk))
            for uq_name, columns in _uniques(table):
                if dist.column not in columns:
                    found.add(Conflict(name, Problem.unique, uq_name, columns))
        for fk in table.foreign_key_constraints:
            if _fk_conflict(plan, fk, plans.get(fk.referred_table.name)):
                columns = tuple(c.name for c in fk.columns)
                found.add(Conflict(name, Problem.foreign_key, str(fk.name), columns))
    return found


def declared_conflicts() -> set[Conflict]:
    return {
        Conflict(plan.table, b.problem, b.constraint, b.columns)
        for plan in TABLES
        for b in plan.blockers
    }


def citus_script(metadata: MetaData) -> list[str]:
    """The calls that place the tables, in an order Citus accepts: reference tables and then
    each group's first table before the tables colocated with it, parents before children."""
    plans = plans_by_table()
    order = [t.name for t in metadata.sorted_tables if t.name in plans]
    calls = [
        f"SELECT create_reference_table('{name}');"
        for name in order
        if plans[name].placement == Placement.reference
    ]
    distributed = [plans[n] for n in order if plans[n].placement == Placement.distributed]
    firsts = [p for p in distributed if p.distribution and p.distribution.colocate_with is None]
    placed = [(p.table, p.distribution) for p in firsts]
    placed += [(n.table, n.distribution) for n in NEW_TABLES]
    placed += [(p.table, p.distribution) for p in distributed if p not in firsts]
    for table, dist in placed:
        assert dist is not None
        colocate = dist.colocate_with or "none"
        calls.append(
            f"SELECT create_distributed_table('{table}', '{dist.column}', "
            f"colocate_with => '{colocate}');"
        )
    return calls


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _blockers(plan: TablePlan) -> str:
    if not plan.blockers:
        return "none"
    parts = []
    for b in plan.blockers:
        what = f"`{b.constraint}` {b.problem.upper()} ({', '.join(b.columns)})"
        if b.problem == Problem.missing_column:
            what = f"no `{b.columns[0]}` column"
        parts.append(f"{what} → {b.fix}")
    return "<br>".join(_cell(p) for p in parts)


HEADER = """# Scaling out: the tables on Citus

Generated from `src/redcard/ops/scaling_plan.py` by
`python -m redcard.ops.scaling > docs/scaling.md`; `tests/ops/test_scaling.py` fails when a
table has no declaration, when a blocker names a constraint the schema does not have (or misses
one it has), or when this page is stale. Every new table says where it goes, and a table that
belongs to a member or a merchant carries that owner's key (`member_id`, `merchant_id`).

Tried on a Citus 13 cluster (a coordinator and two workers), today's migrations apply on the
coordinator, but no large table can be distributed yet: every primary key is the table's own
`id`, unique keys such as `users.phone` and `journal_entries (kind, ref)` leave out any owner,
and foreign keys join tables that would sit in different groups. This page is the plan: where
each table goes, what blocks it today and the change that unblocks it.

**The plan in short.** A member's rows (user, cards, orders, payments, refunds, code burns,
registrations, notices) are sharded by the member's id and colocated with `users`; the
redemptions, statements and statement lines are sharded by the merchant's id, so a till and a
day's settlement work on one merchant's shard. The ledger is sharded by the account's owner and
the idempotency keys by their caller. Small tables that everything reads (plans, terms,
merchants, stores, terminals, events, the programme's state) are reference tables, copied to
every node; two rate-limit logs stay on the coordinator. Values that must be unique across all
members but are looked up without the owner (phone numbers, out_trade_no, out_refund_no, code
handles, check-in codes) get one lookup table, `global_keys`, sharded by the value.

## What one PostgreSQL carries on this machine today

From `docs/performance.md` (a shared 2-core machine, the app, PostgreSQL and the load generator
on the same cores). Scale out when these stop being enough, not before: every change below
costs round trips on the till's path.

| workload | figure | command |
| --- | --- | --- |
"""


def _section(title: str, head: str, rows: Iterable[str]) -> list[str]:
    rule = "|" + " --- |" * (head.count("|") - 1)
    return ["", f"## {title}", "", head, rule, *rows]


def render(metadata: MetaData | None = None) -> str:
    metadata = metadata if metadata is not None else Base.metadata
    out = [HEADER.rstrip("\n")]
    out += [f"| {_cell(f.what)} | {_cell(f.figure)} | `{f.command}` |" for f in FIGURES]

    groups = []
    for key, info in KEYS.items():
        tables = [p.table for p in TABLES if p.distribution and p.distribution.key == key]
        tables += [n.table for n in NEW_TABLES if n.distribution.key == key]
        names = ", ".join(f"`{t}`" for t in tables)
        groups.append(f"| {key} | {_cell(info.values)} | {info.type_} | {names} |")
    out += _section(
        "Colocation groups",
        "| key | values | type | tables (the first one starts the group) |",
        groups,
    )
    out += ["", "## The order of the changes", ""]
    out += [f"{i}. **{s.title}.** {s.detail}" for i, s in enumerate(STEPS, 1)]

    out += ["", "Then, on the coordinator:", "", "```sql", *citus_script(metadata), "```"]

    distributed = [p for p in TABLES if p.placement == Placement.distributed]
    rows = []
    for p in distributed:
        d = p.distribution
        assert d is not None
        column = f"`{d.column}`" + ("" if d.column_exists_today else " (to add)")
        with_ = f"`{d.colocate_with}`" if d.colocate_with else "(starts the group)"
        rows.append(
            f"| `{p.table}` | {d.key} | {column} | {with_} | {_cell(p.reason)} | {_blockers(p)} |"
        )
    out += _section(
        "Distributed tables",
        "| table | key | column | colocated with | why | blocked today by → change |",
        rows,
    )
    titles = {Placement.reference: "Reference tables", Placement.local: "Local tables"}
    for placement, title in titles.items():
        rows = [
            f"| `{p.table}` | {_cell(p.reason)} | {_blockers(p)} |"
            for p in TABLES
            if p.placement == placement
        ]
        out += _section(title, "| table | why | blocked today by → change |", rows)

    rows = [
        f"| `{n.table}` | {n.distribution.key}, `{n.distribution.column}` | `{n.columns}` | "
        f"{', '.join(n.kinds)} | {_cell(n.reason)} |"
        for n in NEW_TABLES
    ]
    out += _section("New tables", "| table | sharded by | columns | holds | why |", rows)

    rows = [
        f"| {_cell(q.what)} | `{q.module}.{q.function}` | {', '.join(q.tables)} | "
        f"{_cell(q.why)} | {_cell(q.change or '—')} |"
        for q in CROSS_SHARD
    ]
    out += _section(
        "Queries that cross shards",
        "| query | issued by | tables | why that is acceptable | change first |",
        rows,
    )
    out += ["", "## Out of scope", ""]
    out += [f"- `{name}`: {why}." for name, why in OUT_OF_SCOPE]
    return "\n".join(out) + "\n"


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
