"""The member's data rights: download everything we hold about them, close the account."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from redcard.datarights import closure, export
from redcard.datarights.schemas import AccountClose, AccountClosed, ClosingPreview
from redcard.deps import Member, Session
from redcard.http.idempotency import run_idempotent

router = APIRouter(prefix="/me", tags=["data rights"])


@router.get(
    "/export",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "a zip file"}},
)
async def download_my_data(session: Session, member: Member) -> Response:
    """Everything we hold about you, as one zip of JSON and CSV files."""
    return zip_response(await export.export_zip(session, member))


@router.get("/close", response_model=ClosingPreview)
async def closing_preview(session: Session, member: Member) -> ClosingPreview:
    """What closing your account would do now: your card's refund first."""
    return ClosingPreview.model_validate(await closure.preview(session, member))


@router.post("/close", response_model=AccountClosed)
async def close_my_account(
    body: AccountClose, request: Request, session: Session, member: Member
) -> JSONResponse:
    """Close your account, confirmed with your password: the card ends and is refunded by
    its policy, personal data is deleted, money records stay anonymous. Your logins end."""

    async def action() -> AccountClosed:
        return AccountClosed.model_validate(
            await closure.close_account(session, member, body.password)
        )

    return await run_idempotent(session, request, f"user:{member.id}", action)


def zip_response(body: bytes) -> Response:
    return Response(
        body,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{export.filename()}"'},
    )
