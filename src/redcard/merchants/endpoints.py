"""Merchant onboarding, store management and the operator's review."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from redcard.accounts.schemas import Me, SignUp
from redcard.accounts.service import create_user
from redcard.deps import Operator, Public, Session, allow
from redcard.http import idempotency
from redcard.http.idempotency import run_idempotent
from redcard.http.images import too_large, upload_in
from redcard.kit import images
from redcard.merchants import access, photos, service, stores
from redcard.merchants.schemas import (
    Merchant,
    MerchantApply,
    Rejection,
    Staff,
    StaffCreate,
    Store,
    StoreEdit,
    StorePhoto,
    TerminalCreate,
    TerminalCreated,
)
from redcard.models import MerchantStatus, Role, User

router = APIRouter(tags=["merchants"])
MerchantStaff = Annotated[User, Depends(allow(Role.merchant_staff))]


async def _full(session: Session, merchant: service.Merchant) -> Merchant:
    stores = await service.stores_of(session, merchant.id)
    return Merchant.model_validate(merchant).model_copy(
        update={"stores": [Store.model_validate(s) for s in stores]}
    )


@router.post("/merchant/signup", status_code=201, response_model=Me, dependencies=[Public])
async def merchant_signup(body: SignUp, request: Request, session: Session) -> JSONResponse:
    """Create a merchant staff account (the owner), then apply with it."""

    async def action() -> Me:
        user = await create_user(
            session,
            phone=body.phone,
            password=body.password,
            display_name=body.display_name,
            role=Role.merchant_staff,
        )
        return Me.model_validate(user)

    return await run_idempotent(session, request, "merchant-signup", action, 201)


@router.post("/merchant/applications", status_code=201, response_model=Merchant)
async def apply(
    body: MerchantApply, request: Request, session: Session, owner: MerchantStaff
) -> JSONResponse:
    """Apply to join with your stores and the card holders' discount terms."""

    async def action() -> Merchant:
        return await _full(session, await service.apply(session, owner, body))

    return await run_idempotent(session, request, f"user:{owner.id}", action, 201)


@router.get("/merchant", response_model=Merchant)
async def my_merchant(session: Session, owner: MerchantStaff) -> Merchant:
    return await _full(session, await service.owned_merchant(session, owner))


@router.get("/merchant/stores", response_model=list[Store])
async def my_stores(session: Session, user: MerchantStaff) -> list[Store]:
    """The stores you may work the till at: those you are staff of, and every store of a
    merchant you own."""
    return [Store.model_validate(s) for s in await access.stores_for(session, user)]


@router.post("/merchant/stores/{store_id}/pause", response_model=Store)
async def pause_store(
    store_id: uuid.UUID, request: Request, session: Session, owner: MerchantStaff
) -> JSONResponse:
    async def action() -> Store:
        return Store.model_validate(await service.set_paused(session, owner, store_id, True))

    return await run_idempotent(session, request, f"user:{owner.id}", action)


@router.post("/merchant/stores/{store_id}/resume", response_model=Store)
async def resume_store(
    store_id: uuid.UUID, request: Request, session: Session, owner: MerchantStaff
) -> JSONResponse:
    async def action() -> Store:
        return Store.model_validate(await service.set_paused(session, owner, store_id, False))

    return await run_idempotent(session, request, f"user:{owner.id}", action)


@router.patch("/merchant/stores/{store_id}", response_model=Store)
async def edit_store(
    store_id: uuid.UUID,
    body: StoreEdit,
    request: Request,
    session: Session,
    owner: MerchantStaff,
) -> JSONResponse:
    """Change a store's opening hours (`opening_hours` in OpenStreetMap syntax, or `week`),
    time zone or description; a field left out stays. Owner only; all or nothing."""

    async def action() -> Store:
        return Store.model_validate(await stores.update_store(session, owner, store_id, body))

    return await run_idempotent(session, request, f"user:{owner.id}", action)


@router.get("/merchant/stores/{store_id}/photos", response_model=list[StorePhoto])
async def store_photos(
    store_id: uuid.UUID, session: Session, user: MerchantStaff
) -> list[StorePhoto]:
    """A store's photos in order (owner and the store's staff), each with its public URL."""
    seen = await stores.seen_store(session, user, store_id)
    return [_photo(p) for p in await photos.photos_of(session, seen.store.id)]


def _photo(photo: photos.StorePhoto) -> StorePhoto:
    return StorePhoto.model_validate(photo).model_copy(update={"url": photos.url_of(photo)})


@router.post("/merchant/stores/{store_id}/photos", status_code=201, response_model=StorePhoto)
async def add_store_photo(
    store_id: uuid.UUID, request: Request, session: Session, owner: MerchantStaff
) -> JSONResponse:
    """Add a photo (multipart field `photo`: JPEG, PNG, WebP or GIF up to 8 MB), shown last;
    at most 6 a store. A retry with the same key and picture replays the first answer."""
    if too_large(request):
        raise images.ImageTooLarge(images.TOO_LARGE)
    picture = await upload_in(await request.form(), "photo")
    if picture is None:
        raise images.ImageRefused("send the picture as the multipart field `photo`")
    # a multipart body's boundary differs between retries: the picture is what identifies it
    digest = idempotency.fingerprint("POST", request.url.path, picture.digest.encode())

    async def action() -> StorePhoto:
        return _photo(await photos.add_photo(session, owner, store_id, picture))

    key = request.headers.get(idempotency.HEADER, "")
    outcome = await idempotency.once(session, f"user:{owner.id}", key, digest, action, 201)
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    return JSONResponse(outcome.body, status_code=outcome.status_code, headers=headers)


@router.delete("/merchant/stores/{store_id}/photos/{position}", response_model=Store)
async def delete_store_photo(
    store_id: uuid.UUID,
    position: photos.Position,
    request: Request,
    session: Session,
    owner: MerchantStaff,
) -> JSONResponse:
    async def action() -> Store:
        return Store.model_validate(await photos.remove_photo(session, owner, store_id, position))

    return await run_idempotent(session, request, f"user:{owner.id}", action)


@router.post("/merchant/stores/{store_id}/photos/{position}/earlier", response_model=Store)
async def move_store_photo_earlier(
    store_id: uuid.UUID,
    position: photos.Position,
    request: Request,
    session: Session,
    owner: MerchantStaff,
) -> JSONResponse:
    """Swap a photo with the one before it (the first photo is the store's cover)."""

    async def action() -> Store:
        return Store.model_validate(await photos.move_earlier(session, owner, store_id, position))

    return await run_idempotent(session, request, f"user:{owner.id}", action)


@router.post("/merchant/leave", response_model=Merchant)
async def leave(request: Request, session: Session, owner: MerchantStaff) -> JSONResponse:
    """Leave the programme: stores close, the discount stops; settlements still pay out."""

    async def action() -> Merchant:
        return await _full(session, await service.leave(session, owner))

    return await run_idempotent(session, request, f"user:{owner.id}", action)


@router.post("/merchant/stores/{store_id}/staff", status_code=201, response_model=Staff)
async def add_staff(
    store_id: uuid.UUID,
    body: StaffCreate,
    request: Request,
    session: Session,
    owner: MerchantStaff,
) -> JSONResponse:
    async def action() -> Staff:
        user = await service.add_staff(session, owner, store_id, body)
        return Staff(
            user_id=user.id, store_id=store_id, display_name=user.display_name, phone=user.phone
        )

    return await run_idempotent(session, request, f"user:{owner.id}", action, 201)


@router.post(
    "/merchant/stores/{store_id}/terminals", status_code=201, response_model=TerminalCreated
)
async def create_terminal(
    store_id: uuid.UUID,
    body: TerminalCreate,
    request: Request,
    session: Session,
    owner: MerchantStaff,
) -> JSONResponse:
    """Issue a POS terminal API key (shown once; send it as `X-Terminal-Key`)."""

    async def action() -> TerminalCreated:
        terminal, api_key = await service.create_terminal(session, owner, store_id, body.name)
        return TerminalCreated(
            id=terminal.id, store_id=terminal.store_id, name=terminal.name, api_key=api_key
        )

    return await run_idempotent(session, request, f"user:{owner.id}", action, 201)


@router.post("/merchant/terminals/{terminal_id}/revoke", status_code=204)
async def revoke_terminal(terminal_id: uuid.UUID, session: Session, owner: MerchantStaff) -> None:
    """Revoke a terminal key at once (naturally idempotent: revoking twice changes nothing)."""
    await service.revoke_terminal(session, owner, terminal_id)


@router.get("/operator/merchants", response_model=list[Merchant])
async def list_merchants(
    session: Session, _: Operator, status: MerchantStatus | None = None
) -> list[Merchant]:
    merchants = await service.list_by_status(session, status)
    stores = await service.stores_by_merchant(session, [m.id for m in merchants])
    return [
        Merchant.model_validate(m).model_copy(
            update={"stores": [Store.model_validate(s) for s in stores[m.id]]}
        )
        for m in merchants
    ]


@router.post("/operator/merchants/{merchant_id}/approve", response_model=Merchant)
async def approve(
    merchant_id: uuid.UUID, request: Request, session: Session, operator: Operator
) -> JSONResponse:
    async def action() -> Merchant:
        return await _full(session, await service.approve(session, operator, merchant_id))

    return await run_idempotent(session, request, f"user:{operator.id}", action)


@router.post("/operator/merchants/{merchant_id}/reject", response_model=Merchant)
async def reject(
    merchant_id: uuid.UUID,
    body: Rejection,
    request: Request,
    session: Session,
    operator: Operator,
) -> JSONResponse:
    async def action() -> Merchant:
        merchant = await service.reject(session, operator, merchant_id, body.reason)
        return await _full(session, merchant)

    return await run_idempotent(session, request, f"user:{operator.id}", action)
