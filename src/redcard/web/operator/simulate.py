"""The operator's simulator page: `redcard simulate` in the console (economics/simulate.py).
A GET form, so a scenario is a link an operator can send on."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from redcard.deps import Session, get_ctx
from redcard.economics import fitting
from redcard.economics.simulate import EXCLUSIVE_LIFT, RENEWAL_SLOPE, Inputs, run, sensitivity
from redcard.kit.money import MoneyError, parse_yuan
from redcard.models import Role, User
from redcard.web.common import require
from redcard.web.render import gettext_for, render

router = APIRouter(prefix="/operator", include_in_schema=False)
OperatorPage = Annotated[User, require(Role.operator)]
MEMBERS = 20_000


def _number(query: dict[str, str], name: str, default: str) -> float:
    text = (query.get(name) or default).strip()
    try:
        value = float(text)
    except ValueError:
        raise ValueError(
            "enter plain numbers: the price in yuan, percentages, a count of stores"
        ) from None
    if not math.isfinite(value):
        raise ValueError("enter plain numbers: the price in yuan, percentages, a count of stores")
    return value


def _inputs(query: dict[str, str]) -> tuple[Inputs, bool]:
    """The form's scenario, and whether the members-only share was left "as now"."""
    as_now = not (query.get("exclusive") or "").strip()
    return (
        Inputs(
            price_fen=parse_yuan((query.get("price") or "168").strip()),
            discount_bp=round(_number(query, "discount", "10") * 100),
            exclusive_share=0.2 if as_now else _number(query, "exclusive", "20") / 100,
            store_density=_number(query, "density", "30"),
            members=MEMBERS,
        ),
        as_now,
    )


@router.get("/simulate", response_class=HTMLResponse)
async def simulate_page(request: Request, session: Session, _: OperatorPage) -> Response:
    query = dict(request.query_params)
    try:
        base, as_now = _inputs(query)
        base.check()
    except (MoneyError, ValueError) as exc:
        return render(
            request,
            "operator/simulate.html",
            status_code=422,
            form=query,
            error=gettext_for(request)(str(exc)),
        )
    # an unticked box sends nothing: the form says it was sent, so only a first visit defaults
    use_history = query.get("fit") == "yes" or "sent" not in query
    fitted = tested = None
    async with get_ctx(request).db.report_scope(session) as reports:
        if use_history:
            fitted = await fitting.fitted_inputs(reports, base, exclusive_as_measured=as_now)
            tested = await fitting.backtest(reports)
    inputs = fitted.inputs if fitted is not None else base
    result = run(inputs)
    return render(
        request,
        "operator/simulate.html",
        form=query,
        fitted=fitted,
        tested=tested,
        result=result,
        sens=sensitivity(inputs),
        inputs=inputs,
        model={"lift": f"{1 + EXCLUSIVE_LIFT:g}", "slope": f"{RENEWAL_SLOPE:g}"},
    )
