"""Where every table would live on a Citus 13 cluster: the one mapping `docs/scaling.md` is
generated from (`python -m redcard.ops.scaling > docs/scaling.md`).

`tests/ops/test_scaling.py` fails when a table of `Base.metadata` has no entry here, when an
entry's blockers disagree with the constraints the metadata has today, or when the document is
stale. So a new table must say where it goes, and a new table that belongs to a member or a
merchant carries that owner's key (`member_id`, `merchant_id`) as a column from the start.
"""

from __future__ import annotations

from redcard.ops.scaling_types import Blocker, Distribution, Key, Placement, Problem, TablePlan


def _pk(table: str, column: str) -> Blocker:
    return Blocker(
        Problem.primary_key,
        f"pk_{table}",
        ("id",),
        f"PRIMARY KEY ({column}, id)",
    )


def _uq(name: str, *columns: str, fix: str) -> Blocker:
    return Blocker(Problem.unique, name, columns, fix)


def _fk(name: str, column: str, fix: str) -> Blocker:
    return Blocker(Problem.foreign_key, name, (column,), fix)


def _add(column: str, fix: str) -> Blocker:
    return Blocker(Problem.missing_column, None, (column,), fix)


def _lookup(kind: str, readers: str) -> str:
    return (
        f"a `global_keys` row (kind '{kind}'), written in the same transaction, keeps the value "
        f"unique and routes {readers} to the owner's shard; then drop the constraint"
    )


def _member(column: str = "member_id", exists: bool = True) -> Distribution:
    return Distribution(Key.member, column, exists, "users")


def _merchant(column: str = "merchant_id", exists: bool = True) -> Distribution:
    return Distribution(Key.merchant, column, exists, "redemptions")


def _ledger(exists: bool) -> Distribution:
    return Distribution(Key.ledger_owner, "owner_key", exists, "ledger_accounts")


_CHECKED_BY_CALLER = "drop it: {who} is the signed-in caller, checked when the row is written"
_USER_CHECKED = (
    "drop it: a reference table cannot reference a distributed one; {service} checks the "
    "user when it writes the row (users are closed, never deleted)"
)
_OWNER_PAIR = "FOREIGN KEY ({lead}, {column}) REFERENCES {parent} ({lead}, id)"

MEMBER_GROUP: tuple[TablePlan, ...] = (
    TablePlan(
        "users",
        Placement.distributed,
        "Every member's rows hang off the user id. Staff and operators are users too and cost "
        "nothing extra there.",
        Distribution(Key.member, "id"),
        (_uq("uq_users_phone", "phone", fix=_lookup("phone", "login")),),
    ),
    TablePlan(
        "auth_sessions",
        Placement.distributed,
        "Read on every authenticated request, always for one user.",
        _member("user_id"),
        (
            _pk("auth_sessions", "user_id"),
            _uq(
                "uq_auth_sessions_token_hash",
                "token_hash",
                fix="the token carries its user id (`<user id>.<secret>`), so the lookup names "
                "user_id and runs on one shard; UNIQUE (user_id, token_hash). Sessions issued "
                "before the change end: their users log in again",
            ),
        ),
    ),
    TablePlan(
        "member_codes",
        Placement.distributed,
        "The member's code secret: read with the member's card at every till prepare.",
        _member(),
        (
            _uq(
                "uq_member_codes_handle",
                "handle",
                fix=_lookup("code_handle", "the till's prepare"),
            ),
        ),
    ),
    TablePlan(
        "memberships",
        Placement.distributed,
        "A member's cards, read with the member at every redemption and purchase. The one-active"
        "-card index already leads with member_id.",
        _member(),
        (
            _pk("memberships", "member_id"),
            _uq(
                "uq_memberships_order_id",
                "order_id",
                fix="UNIQUE (member_id, order_id): a card and its order have the same member",
            ),
            _fk(
                "fk_memberships_order_id_orders",
                "order_id",
                _OWNER_PAIR.format(lead="member_id", column="order_id", parent="orders"),
            ),
        ),
    ),
    TablePlan(
        "orders",
        Placement.distributed,
        "What a member agreed to pay for, written with the member's payment and card. Its keys to "
        "plans and terms point at reference tables, which Citus allows.",
        _member(),
        (_pk("orders", "member_id"),),
    ),
    TablePlan(
        "payments",
        Placement.distributed,
        "One attempt to collect a member's order: locked with the order when the channel confirms.",
        _member(exists=False),
        (
            _add("member_id", "add it (the order's member), backfilled from orders"),
            _pk("payments", "member_id"),
            _uq(
                "uq_payments_out_trade_no",
                "out_trade_no",
                fix=_lookup("out_trade_no", "callbacks, status queries and the bill's lines"),
            ),
            _fk(
                "fk_payments_order_id_orders",
                "order_id",
                _OWNER_PAIR.format(lead="member_id", column="order_id", parent="orders"),
            ),
        ),
    ),
    TablePlan(
        "refunds",
        Placement.distributed,
        "A refund of a member's payment: reserved, submitted and settled with the payment, its "
        "order and card.",
        _member(exists=False),
        (
            _add("member_id", "add it (the payment's member), backfilled from payments"),
            _pk("refunds", "member_id"),
            _uq(
                "uq_refunds_payment_id_campaign_id",
                "payment_id",
                "campaign_id",
                fix="UNIQUE (member_id, payment_id, campaign_id)",
            ),
            _uq(
                "uq_refunds_out_refund_no",
                "out_refund_no",
                fix=_lookup("out_refund_no", "callbacks, status queries and the bill's lines"),
            ),
            _fk(
                "fk_refunds_payment_id_payments",
                "payment_id",
                _OWNER_PAIR.format(lead="member_id", column="payment_id", parent="payments"),
            ),
        ),
    ),
    TablePlan(
        "notifications",
        Placement.distributed,
        "The outbox: written in the member's own transaction (a purchase, a refund, a sunset "
        "notice).",
        _member("user_id"),
        (_pk("notifications", "user_id"),),
    ),
    TablePlan(
        "code_burns",
        Placement.distributed,
        "UNIQUE (member_id, step) makes a code commit once, at one store, whatever races: it is "
        "checked on the member's shard.",
        _member(),
        (
            _pk("code_burns", "member_id"),
            _uq(
                "uq_code_burns_redemption_id",
                "redemption_id",
                fix="UNIQUE (member_id, redemption_id): a redemption has one member",
            ),
            _fk(
                "fk_code_burns_redemption_id_redemptions",
                "redemption_id",
                "drop it: redemptions are sharded by merchant; commit writes both rows in one "
                "transaction and neither is deleted",
            ),
        ),
    ),
    TablePlan(
        "event_registrations",
        Placement.distributed,
        "One member's place at one event, written with the member's order and card check.",
        _member(),
        (
            _pk("event_registrations", "member_id"),
            _uq(
                "uq_event_registrations_event_id_waitlist_position",
                "event_id",
                "waitlist_position",
                fix="drop it: positions come from events.waitlist_seq, incremented under the "
                "event's row lock, so they are unique by construction",
            ),
            _uq(
                "uq_event_registrations_order_id",
                "order_id",
                fix="UNIQUE (member_id, order_id); the order's callback names the member",
            ),
            _uq(
                "uq_event_registrations_code",
                "code",
                fix=_lookup("checkin_code", "check-in at the door"),
            ),
            _fk(
                "fk_event_registrations_order_id_orders",
                "order_id",
                _OWNER_PAIR.format(lead="member_id", column="order_id", parent="orders"),
            ),
            _fk(
                "fk_event_registrations_checked_in_by_users",
                "checked_in_by",
                _CHECKED_BY_CALLER.format(who="the staff member who checks a guest in"),
            ),
        ),
    ),
    TablePlan(
        "sunset_items",
        Placement.distributed,
        "Approval writes one per card from the member's own card, order and payment; colocated, "
        "that INSERT … SELECT runs on every shard in parallel.",
        _member(),
        (
            _pk("sunset_items", "member_id"),
            _uq(
                "uq_sunset_items_campaign_id_order_id",
                "campaign_id",
                "order_id",
                fix="UNIQUE (member_id, campaign_id, order_id)",
            ),
            _uq(
                "uq_sunset_items_refund_id",
                "refund_id",
                fix="UNIQUE (member_id, refund_id)",
            ),
        ),
    ),
    TablePlan(
        "channel_events",
        Placement.distributed,
        "A channel's verified notification, recorded in the transaction that applies it to the "
        "member's payment or refund.",
        _member(exists=False),
        (
            _add(
                "member_id",
                "add it: the member of the payment or refund the event names, found through "
                "global_keys by its reference (an event with an unknown reference is refused and "
                "not kept, as today)",
            ),
            _pk("channel_events", "member_id"),
            _uq(
                "uq_channel_events_channel_event_id",
                "channel",
                "event_id",
                fix="UNIQUE (member_id, channel, event_id): as strong as today's, since an event "
                "names one trade and a trade has one member",
            ),
        ),
    ),
)

MERCHANT_GROUP: tuple[TablePlan, ...] = (
    TablePlan(
        "redemptions",
        Placement.distributed,
        "The till's prepare, commit and undo, the merchant's bills and the day's settlement all "
        "find redemptions by store, hence merchant: routed by the till's own merchant, with no "
        "change to the till's API. The member's side of a commit (card check, code burn) is one "
        "more shard in the same transaction.",
        Distribution(Key.merchant, "merchant_id"),
        (
            _pk("redemptions", "merchant_id"),
            _uq(
                "uq_redemptions_order_id",
                "order_id",
                fix="UNIQUE (merchant_id, order_id): a 买单 order is for one store",
            ),
            _fk(
                "fk_redemptions_member_id_users",
                "member_id",
                "drop it: the member's card is read on the member's shard in the same "
                "transaction, and users are never deleted",
            ),
            _fk(
                "fk_redemptions_membership_id_memberships",
                "membership_id",
                "drop it: commit reads the card FOR SHARE on the member's shard in the same "
                "transaction",
            ),
            _fk(
                "fk_redemptions_staff_id_users",
                "staff_id",
                _CHECKED_BY_CALLER.format(who="the staff member at the till"),
            ),
            _fk(
                "fk_redemptions_order_id_orders",
                "order_id",
                "drop it: the 买单's order is the member's; storepay writes both in one "
                "transaction and orders are never deleted",
            ),
        ),
    ),
    TablePlan(
        "store_reviews",
        Placement.distributed,
        "Members' reviews are read by store (its page, its score): beside the store's merchant's "
        "redemptions, one of which each review is tied to.",
        _merchant(),
        (
            _pk("store_reviews", "merchant_id"),
            _uq(
                "uq_store_reviews_redemption_id",
                "redemption_id",
                fix="UNIQUE (merchant_id, redemption_id): a purchase is at one merchant",
            ),
            _fk(
                "fk_store_reviews_redemption_id_redemptions",
                "redemption_id",
                _OWNER_PAIR.format(
                    lead="merchant_id", column="redemption_id", parent="redemptions"
                ),
            ),
            _fk(
                "fk_store_reviews_member_id_users",
                "member_id",
                _CHECKED_BY_CALLER.format(who="the member who writes it"),
            ),
            _fk(
                "fk_store_reviews_hidden_by_users",
                "hidden_by",
                _CHECKED_BY_CALLER.format(who="the operator who hides it"),
            ),
        ),
    ),
    TablePlan(
        "statements",
        Placement.distributed,
        "One merchant's business day, settled from that merchant's redemptions on the same shard.",
        _merchant(),
        (
            _pk("statements", "merchant_id"),
            _fk(
                "fk_statements_paid_out_by_users",
                "paid_out_by",
                _CHECKED_BY_CALLER.format(who="the operator who pays out"),
            ),
        ),
    ),
    TablePlan(
        "statement_lines",
        Placement.distributed,
        "A statement's redemptions: written and read with the statement.",
        _merchant(exists=False),
        (
            _add("merchant_id", "add it (the statement's merchant), backfilled from statements"),
            _pk("statement_lines", "merchant_id"),
            _uq(
                "uq_statement_lines_redemption_id_kind",
                "redemption_id",
                "kind",
                fix="UNIQUE (merchant_id, redemption_id, kind)",
            ),
            _fk(
                "fk_statement_lines_statement_id_statements",
                "statement_id",
                _OWNER_PAIR.format(lead="merchant_id", column="statement_id", parent="statements"),
            ),
            _fk(
                "fk_statement_lines_redemption_id_redemptions",
                "redemption_id",
                _OWNER_PAIR.format(
                    lead="merchant_id", column="redemption_id", parent="redemptions"
                ),
            ),
        ),
    ),
)

LEDGER_GROUP: tuple[TablePlan, ...] = (
    TablePlan(
        "ledger_accounts",
        Placement.distributed,
        "Each account is moved and read for its owner (a member's savings memo, a merchant's "
        "payable). owner_key is text ('' for platform accounts), so the ledger is a group of its "
        "own. The platform accounts share one shard and channel_clearing moves with every "
        "payment: when that shard runs hot, stripe them (owner_key 'platform:0' … "
        "'platform:15' by a hash of the entry's ref; the balance is the sum of the stripes).",
        Distribution(Key.ledger_owner, "owner_key"),
        (_pk("ledger_accounts", "owner_key"),),
    ),
    TablePlan(
        "journal_entries",
        Placement.distributed,
        "An entry's header, kept with its first owner's accounts.",
        _ledger(exists=False),
        (
            _add(
                "owner_key",
                "add it: the owner of the entry's first per-owner line, else the platform "
                "stripe; a function of the event, so posting one event twice lands on one shard",
            ),
            _pk("journal_entries", "owner_key"),
            _uq(
                "uq_journal_entries_kind_ref",
                "kind",
                "ref",
                fix="UNIQUE (owner_key, kind, ref): as strong as today's, since the owner is a "
                "function of the event",
            ),
        ),
    ),
    TablePlan(
        "journal_lines",
        Placement.distributed,
        "Each line sits with its account, so per-account sums (a statement's figures, a "
        "member's savings) stay on one shard.",
        _ledger(exists=False),
        (
            _add("owner_key", "add it (the account's owner), backfilled from ledger_accounts"),
            _pk("journal_lines", "owner_key"),
            _fk(
                "fk_journal_lines_entry_id_journal_entries",
                "entry_id",
                "drop it: an entry's lines sit with their accounts on several shards; "
                "`redcard ledger check` proves every line has its entry and every entry balances",
            ),
            _fk(
                "fk_journal_lines_account_id_ledger_accounts",
                "account_id",
                _OWNER_PAIR.format(lead="owner_key", column="account_id", parent="ledger_accounts"),
            ),
        ),
    ),
)

CALLER_GROUP: tuple[TablePlan, ...] = (
    TablePlan(
        "idempotency_keys",
        Placement.distributed,
        "Written in the same transaction as every till commit and every idempotent call. On the "
        "coordinator alone every such write would go through one node; sharded by the caller, "
        "the key check stays a one-shard insert.",
        Distribution(Key.caller, "scope"),
        (_pk("idempotency_keys", "scope"),),
    ),
)

REFERENCE: tuple[TablePlan, ...] = (
    TablePlan(
        "terms_versions",
        Placement.reference,
        "Published terms: a few rows, read with every plan and order.",
    ),
    TablePlan(
        "plans",
        Placement.reference,
        "A handful of rows read by every purchase; orders and cards keep their foreign keys to "
        "it (distributed to reference is allowed).",
    ),
    TablePlan(
        "merchants",
        Placement.reference,
        "Thousands of rows at most, read with every store, bill and statement; written when an "
        "operator reviews one or changes its fee plan.",
        blockers=(
            _fk(
                "fk_merchants_owner_id_users",
                "owner_id",
                _USER_CHECKED.format(service="merchants.service"),
            ),
            _fk(
                "fk_merchants_reviewed_by_users",
                "reviewed_by",
                _CHECKED_BY_CALLER.format(who="the reviewing operator"),
            ),
        ),
    ),
    TablePlan(
        "stores",
        Placement.reference,
        "Read by every till, every 买单, discovery and the map; written when terms change. "
        "Replicated, a store's terms join locally with anything and the nearest-store search "
        "needs no fan-out; UNIQUE (pay_code) holds as it is.",
    ),
    TablePlan(
        "terminals",
        Placement.reference,
        "A few per store, and every till call reads its terminal by key hash. Replicated, the "
        "key check is local on any node and UNIQUE (api_key_hash) holds as it is: no lookup "
        "table needed.",
    ),
    TablePlan(
        "store_staff",
        Placement.reference,
        "Which stores a staff member may work at: small, read on every staff request.",
        blockers=(
            _fk(
                "fk_store_staff_user_id_users",
                "user_id",
                _USER_CHECKED.format(service="merchants.service"),
            ),
        ),
    ),
    TablePlan(
        "events",
        Placement.reference,
        "Dozens a month, listed to every member. A seat taken is a counter update on a "
        "replicated row (every node, two-phase commit): fine at event volumes, and the seat "
        "limit stays one row's CHECK.",
        blockers=(
            _fk(
                "fk_events_created_by_users",
                "created_by",
                _CHECKED_BY_CALLER.format(who="the operator or staff member who creates it"),
            ),
        ),
    ),
    TablePlan(
        "event_images",
        Placement.reference,
        "At most one picture per event, beside its event (a reference table too, so the key "
        "to it is local on every node); read when a page shows the event, written when the "
        "organiser replaces it.",
        blockers=(
            _fk(
                "fk_event_images_uploaded_by_users",
                "uploaded_by",
                _CHECKED_BY_CALLER.format(who="the organiser who uploads it"),
            ),
        ),
    ),
    TablePlan(
        "store_photos",
        Placement.reference,
        "A few photos per store, beside the store (a reference table too); read when a page "
        "shows the store, written when the merchant changes them.",
        blockers=(
            _fk(
                "fk_store_photos_uploaded_by_users",
                "uploaded_by",
                _CHECKED_BY_CALLER.format(who="the merchant staff who uploads it"),
            ),
        ),
    ),
    TablePlan(
        "store_inspections",
        Placement.reference,
        "A few in-person visits per store a year, read with the store by the curation run.",
        blockers=(
            _fk(
                "fk_store_inspections_recorded_by_users",
                "recorded_by",
                _CHECKED_BY_CALLER.format(who="the operator who records it"),
            ),
        ),
    ),
    TablePlan(
        "curation_decisions",
        Placement.reference,
        "Each grant and removal of a store's 精选 badge: a few per store a year, read with the "
        "store.",
        blockers=(
            _fk(
                "fk_curation_decisions_decided_by_users",
                "decided_by",
                _CHECKED_BY_CALLER.format(who="the operator who decides"),
            ),
        ),
    ),
    TablePlan(
        "sunset_campaigns",
        Placement.reference,
        "A handful of rows; items and refunds name their campaign.",
        blockers=(
            _fk(
                "fk_sunset_campaigns_prepared_by_users",
                "prepared_by",
                _CHECKED_BY_CALLER.format(who="the preparing operator"),
            ),
            _fk(
                "fk_sunset_campaigns_approved_by_users",
                "approved_by",
                _CHECKED_BY_CALLER.format(who="the approving operator")
                + "; the two-person rule is the row's own CHECK",
            ),
        ),
    ),
    TablePlan(
        "program_state",
        Placement.reference,
        "One row, read FOR SHARE by every purchase on whichever node serves it. Citus takes a "
        "reference row's locks on its placements, so approval's UPDATE still waits for a "
        "purchase in flight; to be proven on the cluster by the purchase-versus-approval test.",
    ),
    TablePlan(
        "code_locks",
        Placement.reference,
        "Written only when a till, store or IP crosses a limit; read by every prepare. "
        "Replicated, the lock check joins the store's terms locally.",
    ),
)

LOCAL: tuple[TablePlan, ...] = (
    TablePlan(
        "login_attempts",
        Placement.local,
        "Failed logins counted per phone and per IP over a window: the IP count spans every "
        "user, only failures write, and the rows are short-lived.",
    ),
    TablePlan(
        "code_failures",
        Placement.local,
        "Rejected code checks counted per till, store and IP over a window (the IP count spans "
        "merchants); only failures write. Its foreign key to stores, a reference table, makes "
        "Citus manage it as a Citus local table.",
    ),
)

TABLES: tuple[TablePlan, ...] = (
    MEMBER_GROUP + MERCHANT_GROUP + LEDGER_GROUP + CALLER_GROUP + REFERENCE + LOCAL
)
