"""Where every table would live on a Citus 13 cluster: the one mapping `docs/scaling.md` is
generated from (`python -m redcard.ops.scaling > docs/scaling.md`).

`tests/ops/test_scaling.py` fails when a table of `Base.metadata` has no entry here, when an
entry's blockers disagree with the constraints the metadata has today, or when the document is
stale. So a new table must say where it goes, and a new table that belongs to a member or a
merchant carries that owner's key (`member_id`, `merchant_id`) as a column from the start.
"""

from __future__ import annotations

from redcard.ops import scaling_rules as rules
from redcard.ops.scaling_reference import LOCAL, REFERENCE
from redcard.ops.scaling_types import Distribution, Key, Placement, TablePlan

MEMBER_GROUP: tuple[TablePlan, ...] = (
    TablePlan(
        "users",
        Placement.distributed,
        "Every member's rows hang off the user id. Staff and operators are users too and cost "
        "nothing extra there.",
        Distribution(Key.member, "id"),
        (rules.uq("uq_users_phone", "phone", fix=rules.lookup("phone", "login")),),
    ),
    TablePlan(
        "auth_sessions",
        Placement.distributed,
        "Read on every authenticated request, always for one user.",
        rules.member("user_id"),
        (
            rules.pk("auth_sessions", "user_id"),
            rules.uq(
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
        rules.member(),
        (
            rules.uq(
                "uq_member_codes_handle",
                "handle",
                fix=rules.lookup("code_handle", "the till's prepare"),
            ),
        ),
    ),
    TablePlan(
        "companions",
        Placement.distributed,
        "A household companion on a primary's card (issue 16): written by the primary and the "
        "invitee, read with the primary's card at the companion's till prepare.",
        rules.member("primary_id"),
        (
            rules.pk("companions", "primary_id"),
            rules.uq(
                "uq_companions_one_card_per_companion",
                "companion_id",
                fix=rules.lookup("companion", "the companion's till prepare and code page"),
            ),
            rules.fk(
                "fk_companions_companion_id_users",
                "companion_id",
                rules.USER_CHECKED.format(service="companions/service.py"),
            ),
        ),
    ),
    TablePlan(
        "memberships",
        Placement.distributed,
        "A member's cards, read with the member at every redemption and purchase. The one-active"
        "-card index already leads with member_id.",
        rules.member(),
        (
            rules.pk("memberships", "member_id"),
            rules.uq(
                "uq_memberships_order_id",
                "order_id",
                fix="UNIQUE (member_id, order_id): a card and its order have the same member",
            ),
            rules.fk(
                "fk_memberships_order_id_orders",
                "order_id",
                rules.OWNER_PAIR.format(lead="member_id", column="order_id", parent="orders"),
            ),
        ),
    ),
    TablePlan(
        "orders",
        Placement.distributed,
        "What a member agreed to pay for, written with the member's payment and card. Its keys to "
        "plans and terms point at reference tables, which Citus allows.",
        rules.member(),
        (rules.pk("orders", "member_id"),),
    ),
    TablePlan(
        "payments",
        Placement.distributed,
        "One attempt to collect a member's order: locked with the order when the channel confirms.",
        rules.member(exists=False),
        (
            rules.add("member_id", "add it (the order's member), backfilled from orders"),
            rules.pk("payments", "member_id"),
            rules.uq(
                "uq_payments_out_trade_no",
                "out_trade_no",
                fix=rules.lookup("out_trade_no", "callbacks, status queries and the bill's lines"),
            ),
            rules.fk(
                "fk_payments_order_id_orders",
                "order_id",
                rules.OWNER_PAIR.format(lead="member_id", column="order_id", parent="orders"),
            ),
        ),
    ),
    TablePlan(
        "refunds",
        Placement.distributed,
        "A refund of a member's payment: reserved, submitted and settled with the payment, its "
        "order and card.",
        rules.member(exists=False),
        (
            rules.add("member_id", "add it (the payment's member), backfilled from payments"),
            rules.pk("refunds", "member_id"),
            rules.uq(
                "uq_refunds_payment_id_campaign_id",
                "payment_id",
                "campaign_id",
                fix="UNIQUE (member_id, payment_id, campaign_id)",
            ),
            rules.uq(
                "uq_refunds_out_refund_no",
                "out_refund_no",
                fix=rules.lookup("out_refund_no", "callbacks, status queries and the bill's lines"),
            ),
            rules.fk(
                "fk_refunds_payment_id_payments",
                "payment_id",
                rules.OWNER_PAIR.format(lead="member_id", column="payment_id", parent="payments"),
            ),
        ),
    ),
    TablePlan(
        "notifications",
        Placement.distributed,
        "The outbox: written in the member's own transaction (a purchase, a refund, a sunset "
        "notice).",
        rules.member("user_id"),
        (
            rules.pk("notifications", "user_id"),
            rules.uq(
                "uq_notifications_dedupe_key",
                "dedupe_key",
                fix="UNIQUE (user_id, dedupe_key): every key names its member's reminder "
                "(card, period), so it is as strong as today's",
            ),
        ),
    ),
    TablePlan(
        "notification_deliveries",
        Placement.distributed,
        "A notification on its way through one sink (inbox, e-mail): written by the worker's "
        "dispatch beside its notification, claimed per sink.",
        rules.member("user_id"),
        (
            rules.pk("notification_deliveries", "user_id"),
            rules.uq(
                "uq_notification_deliveries_notification_id_sink",
                "notification_id",
                "sink",
                fix="UNIQUE (user_id, notification_id, sink): a delivery and its notification "
                "have the same member",
            ),
            rules.fk(
                "fk_notification_deliveries_notification_id_notifications",
                "notification_id",
                rules.OWNER_PAIR.format(
                    lead="user_id", column="notification_id", parent="notifications"
                ),
            ),
        ),
    ),
    # -- renewal (issue 16) --------------------------------------------------------------------
    TablePlan(
        "payment_mandates",
        Placement.distributed,
        "A member's payment mandate (周期扣款 / 委托代扣): read with the member's card when the "
        "renewal worker charges it, written when the member turns auto-renew on or off.",
        rules.member(),
        (
            rules.pk("payment_mandates", "member_id"),
            rules.uq(
                "uq_payment_mandates_mandate_no",
                "mandate_no",
                fix=rules.lookup("mandate_no", "the return from the channel's signing page"),
            ),
        ),
    ),
    TablePlan(
        "renewals",
        Placement.distributed,
        "One card period's renewal, claimed and charged with the member's card, mandate, order "
        "and payment in one transaction on the member's shard.",
        rules.member(),
        (
            rules.pk("renewals", "member_id"),
            rules.uq(
                "uq_renewals_period",
                "membership_id",
                "period_starts_at",
                fix="UNIQUE (member_id, membership_id, period_starts_at)",
            ),
            rules.uq(
                "uq_renewals_charge_no",
                "charge_no",
                fix=rules.lookup("out_trade_no", "status queries and the bill's lines"),
            ),
            rules.fk(
                "fk_renewals_membership_id_memberships",
                "membership_id",
                rules.OWNER_PAIR.format(
                    lead="member_id", column="membership_id", parent="memberships"
                ),
            ),
            rules.fk(
                "fk_renewals_mandate_id_payment_mandates",
                "mandate_id",
                rules.OWNER_PAIR.format(
                    lead="member_id", column="mandate_id", parent="payment_mandates"
                ),
            ),
            rules.fk(
                "fk_renewals_order_id_orders",
                "order_id",
                rules.OWNER_PAIR.format(lead="member_id", column="order_id", parent="orders"),
            ),
        ),
    ),
    TablePlan(
        "renewal_attempts",
        Placement.distributed,
        "A renewal's finished charge attempts, written with the renewal.",
        rules.member(exists=False),
        (
            rules.add("member_id", "add it (the renewal's member), backfilled from renewals"),
            rules.pk("renewal_attempts", "member_id"),
            rules.uq(
                "uq_renewal_attempts_charge_no",
                "charge_no",
                fix=rules.lookup("out_trade_no", "status queries and the bill's lines"),
            ),
            rules.fk(
                "fk_renewal_attempts_renewal_id_renewals",
                "renewal_id",
                rules.OWNER_PAIR.format(lead="member_id", column="renewal_id", parent="renewals"),
            ),
        ),
    ),
    TablePlan(
        "code_burns",
        Placement.distributed,
        "UNIQUE (member_id, step) makes a code commit once, at one store, whatever races: it is "
        "checked on the member's shard.",
        rules.member(),
        (
            rules.pk("code_burns", "member_id"),
            rules.uq(
                "uq_code_burns_redemption_id",
                "redemption_id",
                fix="UNIQUE (member_id, redemption_id): a redemption has one member",
            ),
            rules.fk(
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
        rules.member(),
        (
            rules.pk("event_registrations", "member_id"),
            rules.uq(
                "uq_event_registrations_event_id_waitlist_position",
                "event_id",
                "waitlist_position",
                fix="drop it: positions come from events.waitlist_seq, incremented under the "
                "event's row lock, so they are unique by construction",
            ),
            rules.uq(
                "uq_event_registrations_order_id",
                "order_id",
                fix="UNIQUE (member_id, order_id); the order's callback names the member",
            ),
            rules.uq(
                "uq_event_registrations_code",
                "code",
                fix=rules.lookup("checkin_code", "check-in at the door"),
            ),
            rules.fk(
                "fk_event_registrations_order_id_orders",
                "order_id",
                rules.OWNER_PAIR.format(lead="member_id", column="order_id", parent="orders"),
            ),
            rules.fk(
                "fk_event_registrations_checked_in_by_users",
                "checked_in_by",
                rules.CHECKED_BY_CALLER.format(who="the staff member who checks a guest in"),
            ),
        ),
    ),
    TablePlan(
        "sunset_items",
        Placement.distributed,
        "Approval writes one per card from the member's own card, order and payment; colocated, "
        "that INSERT … SELECT runs on every shard in parallel.",
        rules.member(),
        (
            rules.pk("sunset_items", "member_id"),
            rules.uq(
                "uq_sunset_items_campaign_id_order_id",
                "campaign_id",
                "order_id",
                fix="UNIQUE (member_id, campaign_id, order_id)",
            ),
            rules.uq(
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
        rules.member(exists=False),
        (
            rules.add(
                "member_id",
                "add it: the member of the payment or refund the event names, found through "
                "global_keys by its reference (an event with an unknown reference is refused and "
                "not kept, as today)",
            ),
            rules.pk("channel_events", "member_id"),
            rules.uq(
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
            rules.pk("redemptions", "merchant_id"),
            rules.uq(
                "uq_redemptions_order_id",
                "order_id",
                fix="UNIQUE (merchant_id, order_id): a 买单 order is for one store",
            ),
            rules.fk(
                "fk_redemptions_member_id_users",
                "member_id",
                "drop it: the member's card is read on the member's shard in the same "
                "transaction, and users are never deleted",
            ),
            rules.fk(
                "fk_redemptions_membership_id_memberships",
                "membership_id",
                "drop it: commit reads the card FOR SHARE on the member's shard in the same "
                "transaction",
            ),
            rules.fk(
                "fk_redemptions_staff_id_users",
                "staff_id",
                rules.CHECKED_BY_CALLER.format(who="the staff member at the till"),
            ),
            rules.fk(
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
        rules.merchant(),
        (
            rules.pk("store_reviews", "merchant_id"),
            rules.uq(
                "uq_store_reviews_redemption_id",
                "redemption_id",
                fix="UNIQUE (merchant_id, redemption_id): a purchase is at one merchant",
            ),
            rules.fk(
                "fk_store_reviews_redemption_id_redemptions",
                "redemption_id",
                rules.OWNER_PAIR.format(
                    lead="merchant_id", column="redemption_id", parent="redemptions"
                ),
            ),
            rules.fk(
                "fk_store_reviews_member_id_users",
                "member_id",
                rules.CHECKED_BY_CALLER.format(who="the member who writes it"),
            ),
            rules.fk(
                "fk_store_reviews_hidden_by_users",
                "hidden_by",
                rules.CHECKED_BY_CALLER.format(who="the operator who hides it"),
            ),
        ),
    ),
    TablePlan(
        "statements",
        Placement.distributed,
        "One merchant's business day, settled from that merchant's redemptions on the same shard.",
        rules.merchant(),
        (
            rules.pk("statements", "merchant_id"),
            rules.fk(
                "fk_statements_paid_out_by_users",
                "paid_out_by",
                rules.CHECKED_BY_CALLER.format(who="the operator who pays out"),
            ),
        ),
    ),
    TablePlan(
        "statement_lines",
        Placement.distributed,
        "A statement's redemptions: written and read with the statement.",
        rules.merchant(exists=False),
        (
            rules.add(
                "merchant_id", "add it (the statement's merchant), backfilled from statements"
            ),
            rules.pk("statement_lines", "merchant_id"),
            rules.uq(
                "uq_statement_lines_redemption_id_kind",
                "redemption_id",
                "kind",
                fix="UNIQUE (merchant_id, redemption_id, kind)",
            ),
            rules.fk(
                "fk_statement_lines_statement_id_statements",
                "statement_id",
                rules.OWNER_PAIR.format(
                    lead="merchant_id", column="statement_id", parent="statements"
                ),
            ),
            rules.fk(
                "fk_statement_lines_redemption_id_redemptions",
                "redemption_id",
                rules.OWNER_PAIR.format(
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
        (rules.pk("ledger_accounts", "owner_key"),),
    ),
    TablePlan(
        "journal_entries",
        Placement.distributed,
        "An entry's header, kept with its first owner's accounts.",
        rules.ledger(exists=False),
        (
            rules.add(
                "owner_key",
                "add it: the owner of the entry's first per-owner line, else the platform "
                "stripe; a function of the event, so posting one event twice lands on one shard",
            ),
            rules.pk("journal_entries", "owner_key"),
            rules.uq(
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
        rules.ledger(exists=False),
        (
            rules.add("owner_key", "add it (the account's owner), backfilled from ledger_accounts"),
            rules.pk("journal_lines", "owner_key"),
            rules.fk(
                "fk_journal_lines_entry_id_journal_entries",
                "entry_id",
                "drop it: an entry's lines sit with their accounts on several shards; "
                "`redcard ledger check` proves every line has its entry and every entry balances",
            ),
            rules.fk(
                "fk_journal_lines_account_id_ledger_accounts",
                "account_id",
                rules.OWNER_PAIR.format(
                    lead="owner_key", column="account_id", parent="ledger_accounts"
                ),
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
        (rules.pk("idempotency_keys", "scope"),),
    ),
)

TABLES: tuple[TablePlan, ...] = (
    MEMBER_GROUP + MERCHANT_GROUP + LEDGER_GROUP + CALLER_GROUP + REFERENCE + LOCAL
)
