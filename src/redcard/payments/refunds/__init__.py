"""The one refund path. Self-service refunds, event cancellations and the program sunset all
reserve with `request_refund` (`reserve`); the worker drives every refund to a verdict with
`process_due` (`due`); the channel's word settles it (`settle`).

Exactly once: a refund's `out_refund_no` is chosen when the row is written and reused on every
retry, and the channel refunds a number at most once. A refund succeeds only on a verified
notification or a status query, never because the channel accepted it.

The modules import each other directly, never this package, which only gathers their public
names for callers. Settings a process changes (`due.POLL_AFTER`) are changed on their module.
"""

from redcard.payments.refunds.due import (
    MAX_ATTEMPTS,
    DueRefund,
    backoff,
    claim_due,
    process_due,
)
from redcard.payments.refunds.reserve import (
    PaymentNotRefundable,
    RefundAsk,
    RefundExceedsPayment,
    post_bulk_reservation,
    refundable_fen,
    request_refund,
    request_refunds,
)
from redcard.payments.refunds.settle import (
    apply_channel_verdict,
    mark_offline,
    retry_failed,
    subledger_differences,
)

__all__ = [
    "MAX_ATTEMPTS",
    "DueRefund",
    "PaymentNotRefundable",
    "RefundAsk",
    "RefundExceedsPayment",
    "apply_channel_verdict",
    "backoff",
    "claim_due",
    "mark_offline",
    "post_bulk_reservation",
    "process_due",
    "refundable_fen",
    "request_refund",
    "request_refunds",
    "retry_failed",
    "subledger_differences",
]
