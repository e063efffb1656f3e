"""The chart of accounts. Debits are positive, credits negative; every entry sums to zero."""

from __future__ import annotations

from enum import StrEnum


class Account(StrEnum):
    # assets
    channel_clearing = "channel_clearing"  # money held for us at a payment channel
    # liabilities
    deferred_membership_revenue = "deferred_membership_revenue"  # fees paid, not yet earned
    deferred_event_revenue = "deferred_event_revenue"  # paid event seats, event not yet held
    refunds_payable = "refunds_payable"  # refunds we owe, not yet confirmed by the channel
    merchant_payable = "merchant_payable"  # 买单 money collected for a merchant (owner = merchant)
    # income
    payment_fee_income = "payment_fee_income"  # fees charged to merchants on 买单 sales
    commission_income = "commission_income"  # commission on 买单 sales (0% by default)
    # memo accounts: member savings funded by merchants (owner = member / merchant)
    member_savings = "member_savings"
    merchant_discounts_funded = "merchant_discounts_funded"
