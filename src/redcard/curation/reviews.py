"""Member reviews: one per real purchase (a committed redemption: a code at the till or a
持卡买单), written by the member who made it; an operator may hide one with a reason its
author sees. Writing or hiding a review updates the store's figures and badge in the same
transaction (`score.evaluate_store`)."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from redcard.curation.rules import Rules
from redcard.curation.schemas import MAX_BODY, MAX_REASON, Review, ReviewView
from redcard.curation.score import counted, evaluate_store
from redcard.errors import Conflict, Forbidden, InvalidInput, NotFound
from redcard.kit.sql import for_update_kwargs
from redcard.kit.time import business_day, utc_now
from redcard.models import Redemption, RedemptionStatus, Role, Store, StoreReview, User


class PurchaseNotFound(NotFound):
    pass


class NotYourPurchase(Forbidden):
    pass


class PurchaseNotCompleted(Conflict):
    pass


class AlreadyReviewed(Conflict):
    pass


class ReviewNotFound(NotFound):
    pass


def mask_name(display_name: str) -> str:
    """An author as other members see them: the first character and a star ("小*")."""
    name = display_name.strip()
    return f"{name[:1]}*" if name else "*"


def _clean_body(body: str) -> str:
    text = "".join(ch for ch in body if ch in "\n\t" or ch.isprintable()).strip()
    if len(text) > MAX_BODY:
        raise InvalidInput(f"a review is at most {MAX_BODY} characters")
    return text


def _check_stars(stars: object) -> int:
    if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
        raise InvalidInput("give 1 to 5 stars")
    return stars


async def reviewable_purchases(
    session: AsyncSession, member_id: uuid.UUID, store_id: uuid.UUID
) -> list[Redemption]:
    """The member's committed purchases at this store not yet reviewed, newest first."""
    reviewed = select(StoreReview.redemption_id).where(StoreReview.member_id == member_id)
    return list(
        (
            await session.scalars(
                select(Redemption)
                .where(
                    Redemption.member_id == member_id,
                    Redemption.store_id == store_id,
                    Redemption.status == RedemptionStatus.committed,
                    Redemption.id.not_in(reviewed),
                )
                .order_by(Redemption.committed_at.desc(), Redemption.id)
            )
        ).all()
    )


async def write_review(
    session: AsyncSession,
    member: User,
    redemption_id: uuid.UUID,
    stars: int,
    body: str,
    *,
    store_id: uuid.UUID | None = None,
    rules: Rules | None = None,
) -> StoreReview:
    """The member's review of one of their committed purchases (`store_id`: the purchase
    must have been there). One per purchase: the store's row lock serialises writers, and
    the UNIQUE index on redemption_id is the backstop."""
    stars = _check_stars(stars)
    text = _clean_body(body)
    redemption = await session.get(Redemption, redemption_id)
    if redemption is None:
        raise PurchaseNotFound("no such purchase")
    if redemption.member_id != member.id or member.role != Role.member:
        raise NotYourPurchase("you can only review your own purchases")
    if store_id is not None and redemption.store_id != store_id:
        raise InvalidInput("this purchase was made at another store")
    if redemption.status != RedemptionStatus.committed:
        raise PurchaseNotCompleted("only a completed purchase can be reviewed")
    store = await session.scalar(
        select(Store)
        .where(Store.id == redemption.store_id)
        .with_for_update(**for_update_kwargs(session))
    )
    assert store is not None  # a redemption's store is never deleted
    if await session.scalar(
        select(StoreReview.id).where(StoreReview.redemption_id == redemption_id)
    ):
        raise AlreadyReviewed("you have already reviewed this purchase")
    review = StoreReview(
        store_id=store.id,
        merchant_id=store.merchant_id,
        member_id=member.id,
        redemption_id=redemption_id,
        stars=stars,
        body=text,
        created_at=utc_now(),
    )
    try:
        async with session.begin_nested():
            session.add(review)
            await session.flush()
    except IntegrityError as exc:
        raise AlreadyReviewed("you have already reviewed this purchase") from exc
    await evaluate_store(session, store.id, rules=rules)
    return review


async def visible_reviews(
    session: AsyncSession, store_id: uuid.UUID, *, limit: int = 20, offset: int = 0
) -> list[ReviewView]:
    """The store's counted reviews, newest first, authors masked."""
    limit, offset = max(1, min(limit, 100)), max(0, offset)
    rows = (
        await session.execute(
            select(StoreReview, User.display_name, Redemption.committed_at)
            .join(User, User.id == StoreReview.member_id)
            .join(Redemption, Redemption.id == StoreReview.redemption_id)
            .where(StoreReview.store_id == store_id, counted())
            .order_by(StoreReview.created_at.desc(), StoreReview.id.desc())
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return [
        ReviewView(
            id=review.id,
            stars=review.stars,
            body=review.body,
            created_at=review.created_at,
            author=mask_name(name),
            purchased_on=business_day(committed_at or review.created_at),
        )
        for review, name, committed_at in rows
    ]


async def count_visible(session: AsyncSession, store_id: uuid.UUID) -> int:
    total = await session.scalar(
        select(func.count())
        .select_from(StoreReview)
        .where(StoreReview.store_id == store_id, counted())
    )
    return int(total or 0)


async def member_reviews(session: AsyncSession, member_id: uuid.UUID) -> list[StoreReview]:
    """The author's own reviews, newest first; hidden ones too, with the operator's reason."""
    return list(
        (
            await session.scalars(
                select(StoreReview)
                .where(StoreReview.member_id == member_id)
                .order_by(StoreReview.created_at.desc(), StoreReview.id.desc())
            )
        ).all()
    )


async def member_review_views(session: AsyncSession, member_id: uuid.UUID) -> list[Review]:
    """`member_reviews` with each store's name (the API's and the partial's rows)."""
    reviews = await member_reviews(session, member_id)
    names = await store_names(session, {r.store_id for r in reviews})
    return [
        Review.model_validate(r).model_copy(update={"store_name": names.get(r.store_id)})
        for r in reviews
    ]


async def store_names(session: AsyncSession, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = await session.execute(select(Store.id, Store.name).where(Store.id.in_(ids)))
    return {row.id: row.name for row in rows}


async def store_reviews_for_operator(
    session: AsyncSession, store_id: uuid.UUID, limit: int = 200
) -> list[tuple[StoreReview, str]]:
    """Every review of the store, hidden ones included, with the author's display name."""
    rows = await session.execute(
        select(StoreReview, User.display_name)
        .join(User, User.id == StoreReview.member_id)
        .where(StoreReview.store_id == store_id)
        .order_by(StoreReview.created_at.desc(), StoreReview.id.desc())
        .limit(limit)
    )
    return [(row[0], row[1]) for row in rows]


async def hide_review(
    session: AsyncSession,
    operator: User,
    review_id: uuid.UUID,
    reason: str,
    *,
    rules: Rules | None = None,
) -> StoreReview:
    """Hide a review (the author sees `reason`); it stops counting at once."""
    if operator.role != Role.operator:
        raise Forbidden("only an operator may hide a review")
    text = reason.strip()
    if not text:
        raise InvalidInput("give a reason; the author sees it")
    if len(text) > MAX_REASON:
        raise InvalidInput(f"a reason is at most {MAX_REASON} characters")
    review = await session.get(StoreReview, review_id)
    if review is None:
        raise ReviewNotFound("no such review")
    store = await session.scalar(
        select(Store)
        .where(Store.id == review.store_id)
        .with_for_update(**for_update_kwargs(session))
    )
    assert store is not None
    await session.refresh(review)
    if review.hidden_at is not None:
        raise Conflict("this review is already hidden")
    review.hidden_at = utc_now()
    review.hidden_reason = text
    review.hidden_by = operator.id
    await session.flush()
    await evaluate_store(
        session, review.store_id, rules=rules, decided_by=operator.id, note="a review was hidden"
    )
    return review
