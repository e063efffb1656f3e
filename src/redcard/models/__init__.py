"""One module per table. Importing this package registers every table on `Base.metadata`."""

from redcard.models.auth_session import AuthSession, SessionKind
from redcard.models.base import Base
from redcard.models.channel_event import ChannelEvent

# companion card (issue 16)
from redcard.models.companion import Companion, CompanionStatus
from redcard.models.curation import BadgeAction, CurationDecision, StoreInspection
from redcard.models.event import Event, EventEligibility, EventStatus
from redcard.models.event_image import EventImage
from redcard.models.event_registration import EventRegistration, RegistrationStatus
from redcard.models.idempotency_key import IdempotencyKey
from redcard.models.ledger import JournalEntry, JournalLine, LedgerAccount
from redcard.models.login_attempt import LoginAttempt
from redcard.models.member_code import CodeFailure, CodeLock, MemberCode
from redcard.models.membership import Membership, MembershipStatus
from redcard.models.merchant import Merchant, MerchantStatus
from redcard.models.notification import Notification
from redcard.models.notification_delivery import DeliveryStatus, NotificationDelivery
from redcard.models.order import Order, OrderKind, OrderStatus
from redcard.models.payment import Payment, PaymentStatus
from redcard.models.plan import Plan, PlanKind, PlanStatus, RefundPolicy
from redcard.models.redemption import (
    UNDO_WINDOW,
    CodeBurn,
    Redemption,
    RedemptionKind,
    RedemptionStatus,
)
from redcard.models.refund import Refund, RefundReason, RefundStatus
from redcard.models.renewal import (  # renewal (issue 16)
    MandateState,
    PaymentMandate,
    Renewal,
    RenewalAttempt,
    RenewalStatus,
)
from redcard.models.statement import (
    Statement,
    StatementLine,
    StatementLineKind,
    StatementStatus,
)
from redcard.models.store import Store, StoreStatus
from redcard.models.store_photo import StorePhoto
from redcard.models.store_review import StoreReview
from redcard.models.store_staff import StoreStaff
from redcard.models.sunset import (
    CampaignStatus,
    ItemStatus,
    ProgramState,
    SunsetCampaign,
    SunsetItem,
)
from redcard.models.terminal import Terminal
from redcard.models.terms import TermsVersion
from redcard.models.user import Role, User

__all__ = [
    "MandateState",
    "PaymentMandate",
    "Renewal",
    "RenewalAttempt",
    "RenewalStatus",
    "AuthSession",
    "BadgeAction",
    "Base",
    "CampaignStatus",
    "ChannelEvent",
    "CodeBurn",
    "CodeFailure",
    "CodeLock",
    "Companion",
    "CompanionStatus",
    "CurationDecision",
    "Event",
    "EventEligibility",
    "EventImage",
    "EventRegistration",
    "EventStatus",
    "IdempotencyKey",
    "ItemStatus",
    "JournalEntry",
    "JournalLine",
    "LedgerAccount",
    "LoginAttempt",
    "MemberCode",
    "Membership",
    "MembershipStatus",
    "Merchant",
    "MerchantStatus",
    "Notification",
    "NotificationDelivery",
    "DeliveryStatus",
    "Order",
    "OrderKind",
    "OrderStatus",
    "Payment",
    "PaymentStatus",
    "Plan",
    "PlanKind",
    "PlanStatus",
    "ProgramState",
    "RefundPolicy",
    "UNDO_WINDOW",
    "Redemption",
    "RedemptionKind",
    "RedemptionStatus",
    "Refund",
    "RefundReason",
    "RegistrationStatus",
    "RefundStatus",
    "Role",
    "SessionKind",
    "Statement",
    "StatementLine",
    "StatementLineKind",
    "StatementStatus",
    "Store",
    "StoreInspection",
    "StorePhoto",
    "StoreReview",
    "StoreStaff",
    "StoreStatus",
    "SunsetCampaign",
    "SunsetItem",
    "Terminal",
    "TermsVersion",
    "User",
]
