"""Member pages for events: the live list, one event, register / pay / cancel in one tap."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from redcard.deps import Ctx, CurrentUser, Session
from redcard.errors import AppError
from redcard.events import eligibility, service, stats
from redcard.events import repository as repo
from redcard.events.eligibility import Admission
from redcard.kit.ids import new_token
from redcard.kit.time import utc_now
from redcard.membership import service as membership
from redcard.models import EventRegistration, Membership, Role, User
from redcard.models.event_registration import LIVE_STATUSES, SEAT_STATUSES
from redcard.web.common import require
from redcard.web.forms import submit_once
from redcard.web.render import check_csrf, redirect, render

router = APIRouter(include_in_schema=False)
MemberPage = Annotated[User, require(Role.member)]


class Done(BaseModel):
    url: str


def qr_svg(code: str) -> str:
    """The registration code as an inline SVG QR code (what a door scanner reads)."""
    return str(
        segno.make_qr(code, error="m").svg_inline(scale=5, border=4, dark="#1d1d1f", omitsize=True)
    )


async def _card_of(session: Session, user: User | None) -> tuple[bool, Membership | None]:
    """Whether the viewer is a member, and their card: what lets them in (`eligibility`)."""
    if user is None or user.role != Role.member:
        return False, None
    return True, await eligibility.member_card(session, user.id)


async def upgrade_url(session: Session) -> str:
    """One tap to the card that admits: the annual card's buy page, else the plans."""
    plan = await membership.featured_plan(session)
    return f"/buy/{plan.id}" if plan else "/plans"


@router.get("/events", response_class=HTMLResponse)
async def events_page(request: Request, session: Session, user: CurrentUser) -> Response:
    now = utc_now()
    events = await repo.list_upcoming(session, now)
    mine: dict[uuid.UUID, EventRegistration] = {}
    if user is not None and user.role == Role.member:
        mine = {r.event_id: r for r, _ in await repo.list_by_member(session, user.id)}
    member, card = await _card_of(session, user)
    # what keeps the member out of each event, said on the list before they open it
    barred = {
        e.id: why
        for e in events
        if member and (why := eligibility.admission(e, card, now)) != Admission.admitted
    }
    waiting = await repo.waitlist_counts(session, [e.id for e in events])
    places = await stats.places(session, events)
    return render(
        request,
        "events/list.html",
        events=events,
        mine=mine,
        barred=barred,
        upgrade_url=await upgrade_url(session) if barred else None,
        waiting=waiting,
        places=places,
        now=now,
    )


async def _detail(
    request: Request,
    session: Session,
    user: User | None,
    event_id: uuid.UUID,
    status_code: int = 200,
    **extra: object,
) -> Response:
    event = await service.get_event(session, event_id)
    registration = None
    ahead = None
    if user is not None and user.role == Role.member:
        registration = await repo.get_by_member(session, event.id, user.id)
        if registration is not None and registration.status == "waitlisted":
            ahead = await repo.waitlist_ahead(session, registration)
    now = utc_now()
    code = None
    if registration is not None and registration.status in SEAT_STATUSES:
        code = service.format_code(registration.code)
    member, card = await _card_of(session, user)
    admission = eligibility.admission(event, card, now) if member else None
    barred = admission not in (None, Admission.admitted)
    return render(
        request,
        "events/detail.html",
        status_code=status_code,
        event=event,
        place=(await stats.places(session, [event]))[event.id],
        registration=registration,
        live=registration is not None and registration.status in LIVE_STATUSES,
        ahead=ahead,
        code=code,
        qr=qr_svg(registration.code) if code and registration else None,
        waitlist=(await repo.waitlist_counts(session, [event.id])).get(event.id, 0),
        can_register=event.registration_open(now),
        admission=admission,
        upgrade_url=await upgrade_url(session) if barred else None,
        can_cancel_seat=now < event.cancel_deadline,
        now=now,
        idempotency_key=new_token(16),
        **extra,
    )


@router.get("/events/{event_id}", response_class=HTMLResponse)
async def event_page(
    event_id: uuid.UUID, request: Request, session: Session, user: CurrentUser
) -> Response:
    return await _detail(request, session, user, event_id)


async def _act(
    request: Request,
    session: Session,
    member: User,
    event_id: uuid.UUID,
    what: str,
    action: Callable[[], Awaitable[Done]],
) -> Response:
    form = await check_csrf(request)
    try:
        outcome = await submit_once(session, member, form, f"event:{event_id}:{what}", action)
    except AppError as exc:
        return await _detail(
            request, session, member, event_id, status_code=exc.status_code, error=exc.message
        )
    return redirect(outcome.body["url"])


@router.post("/events/{event_id}/register")
async def register_submit(
    event_id: uuid.UUID, request: Request, session: Session, ctx: Ctx, member: MemberPage
) -> Response:
    async def action() -> Done:
        await service.register(
            session, ctx.channels, member, event_id, base_url=ctx.settings.base_url
        )
        return Done(url=f"/events/{event_id}")

    return await _act(request, session, member, event_id, "register", action)


@router.post("/events/{event_id}/pay")
async def pay_submit(
    event_id: uuid.UUID, request: Request, session: Session, ctx: Ctx, member: MemberPage
) -> Response:
    async def action() -> Done:
        url = await service.pay_for_seat(
            session, ctx.channels, member, event_id, base_url=ctx.settings.base_url
        )
        return Done(url=url)

    return await _act(request, session, member, event_id, "pay", action)


@router.post("/events/{event_id}/cancel")
async def cancel_submit(
    event_id: uuid.UUID, request: Request, session: Session, member: MemberPage
) -> Response:
    async def action() -> Done:
        await service.cancel_registration(session, member, event_id)
        return Done(url=f"/events/{event_id}?cancelled=1")

    return await _act(request, session, member, event_id, "cancel", action)
