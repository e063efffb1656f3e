"""The plan's reference and local tables (`ops/scaling_plan.py` has the distributed groups):
small tables every node keeps a copy of, and the ones left on the coordinator."""

from __future__ import annotations

from redcard.ops import scaling_rules as rules
from redcard.ops.scaling_types import Placement, TablePlan

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
            rules.fk(
                "fk_merchants_owner_id_users",
                "owner_id",
                rules.USER_CHECKED.format(service="merchants.service"),
            ),
            rules.fk(
                "fk_merchants_reviewed_by_users",
                "reviewed_by",
                rules.CHECKED_BY_CALLER.format(who="the reviewing operator"),
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
            rules.fk(
                "fk_store_staff_user_id_users",
                "user_id",
                rules.USER_CHECKED.format(service="merchants.service"),
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
            rules.fk(
                "fk_events_created_by_users",
                "created_by",
                rules.CHECKED_BY_CALLER.format(who="the operator or staff member who creates it"),
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
            rules.fk(
                "fk_event_images_uploaded_by_users",
                "uploaded_by",
                rules.CHECKED_BY_CALLER.format(who="the organiser who uploads it"),
            ),
        ),
    ),
    TablePlan(
        "store_photos",
        Placement.reference,
        "A few photos per store, beside the store (a reference table too); read when a page "
        "shows the store, written when the merchant changes them.",
        blockers=(
            rules.fk(
                "fk_store_photos_uploaded_by_users",
                "uploaded_by",
                rules.CHECKED_BY_CALLER.format(who="the merchant staff who uploads it"),
            ),
        ),
    ),
    TablePlan(
        "store_inspections",
        Placement.reference,
        "A few in-person visits per store a year, read with the store by the curation run.",
        blockers=(
            rules.fk(
                "fk_store_inspections_recorded_by_users",
                "recorded_by",
                rules.CHECKED_BY_CALLER.format(who="the operator who records it"),
            ),
        ),
    ),
    TablePlan(
        "curation_decisions",
        Placement.reference,
        "Each grant and removal of a store's 精选 badge: a few per store a year, read with the "
        "store.",
        blockers=(
            rules.fk(
                "fk_curation_decisions_decided_by_users",
                "decided_by",
                rules.CHECKED_BY_CALLER.format(who="the operator who decides"),
            ),
        ),
    ),
    TablePlan(
        "sunset_campaigns",
        Placement.reference,
        "A handful of rows; items and refunds name their campaign.",
        blockers=(
            rules.fk(
                "fk_sunset_campaigns_prepared_by_users",
                "prepared_by",
                rules.CHECKED_BY_CALLER.format(who="the preparing operator"),
            ),
            rules.fk(
                "fk_sunset_campaigns_approved_by_users",
                "approved_by",
                rules.CHECKED_BY_CALLER.format(who="the approving operator")
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
