"""The operator's renewal pipeline over HTTP: each stage counted, the renewals listed, the CSV
export, the console's link; members are kept out."""

from __future__ import annotations

import csv
import io

from redcard.kit import time as clock
from redcard.payments.sandbox import Fault
from tests.fixtures.factories import new_operator
from tests.membership.renewal_helpers import DAY, card_of, renewing_member, run_renewals
from tests.membership.test_renewal import START
from tests.web.test_me import web_login


async def test_the_operator_sees_the_pipeline_and_downloads_it(
    client, db, sandbox, channels, settings
):
    clock.freeze(START)
    renews = await renewing_member(client, db, sandbox, "续费甲")
    fails = await renewing_member(client, db, sandbox, "续费乙")
    ends_at = (await card_of(db, renews.member)).ends_at
    clock.freeze(ends_at - 5 * DAY)
    await run_renewals(db, channels, settings)
    clock.freeze(ends_at + 1 * DAY)
    # the second member's charge fails (insufficient balance), the first one's goes through
    original = sandbox.charge_mandate

    async def charge(request):  # type: ignore[no-untyped-def]
        if request.mandate_no == fails.mandate_no:
            sandbox.inject("charge", Fault.reject)
        return await original(request)

    sandbox.charge_mandate = charge  # type: ignore[method-assign]
    try:
        await run_renewals(db, channels, settings)
    finally:
        del sandbox.charge_mandate

    operator = await new_operator(db)
    assert await web_login(client, operator) in (302, 303)
    console = await client.get("/operator")
    assert 'href="/operator/renewals"' in console.text
    page = await client.get("/operator/renewals")
    assert page.status_code == 200
    assert '<tr data-stage="renewed"><td class="lead">已扣款并续期</td><td class="key">1</td>' in (
        page.text
    )
    assert (
        '<tr data-stage="failing"><td class="lead">扣款失败，将重试</td><td class="key">1</td>'
        in (page.text)
    )
    assert "续费乙" in page.text

    download = await client.get("/operator/renewals/csv")
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.text.lstrip("\ufeff"))))
    assert {(r["member"], r["status"]) for r in rows} == {
        ("续费甲", "renewed"),
        ("续费乙", "retrying"),
    }


async def test_a_member_cannot_see_the_pipeline(client, db, sandbox):
    who = await renewing_member(client, db, sandbox)
    assert await web_login(client, who.member) in (302, 303)
    assert (await client.get("/operator/renewals")).status_code in (403, 404)
    assert (await client.get("/operator/renewals/csv")).status_code in (403, 404)
