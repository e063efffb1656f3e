"""我们如何挑选 (How we pick): the published selection method, with the thresholds in force
filled in from settings; and a member's own reviews (hidden ones with the operator's
reason)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from redcard.curation import badge, reviews
from redcard.curation.inspections import CHECKLIST
from redcard.curation.rules import Rules
from redcard.curation.score import city_mean, community_score
from redcard.deps import CurrentUser, Session, get_ctx
from redcard.kit.time import utc_now
from redcard.models import Role, User
from redcard.web.common import require
from redcard.web.render import render

router = APIRouter(include_in_schema=False)
MemberPage = Annotated[User, require(Role.member)]
EXAMPLE_MEAN, EXAMPLE_REVIEWS, EXAMPLE_STARS = 4.0, 20, 5  # the page's worked example


def example_score(rules: Rules) -> float | None:
    """The worked example: a store with 20 fresh 5-star reviews in a city averaging 4.0."""
    now = utc_now()
    return community_score(
        [(EXAMPLE_STARS, now)] * EXAMPLE_REVIEWS,
        EXAMPLE_MEAN,
        prior=rules.prior_reviews,
        half_life_days=rules.half_life_days,
        now=now,
    )


@router.get("/how-we-pick", response_class=HTMLResponse)
async def how_we_pick(request: Request, session: Session, user: CurrentUser) -> Response:
    rules = Rules.of(get_ctx(request).settings)
    return render(
        request,
        "curation/how_we_pick.html",
        rules=rules,
        prior_text=f"{rules.prior_reviews:g}",
        city_mean=await city_mean(session),
        checklist=CHECKLIST,
        reason_words=badge.REASON_WORDS,
        removals=[r for r in badge.Reason if r != badge.Reason.score_and_inspection],
        example=example_score(rules),
        example_mean=EXAMPLE_MEAN,
        example_reviews=EXAMPLE_REVIEWS,
        example_stars=EXAMPLE_STARS,
    )


@router.get("/me/reviews", response_class=HTMLResponse)
async def my_reviews(request: Request, session: Session, member: MemberPage) -> Response:
    return render(
        request,
        "curation/my_reviews.html",
        reviews=await reviews.member_review_views(session, member.id),
    )
