"""CDR tab reads: keyset pages of one UTC day, filters, one CDR's fields, the export."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from connex_tui.data.access import Actor, NotFound
from connex_tui.data.cdrs import CdrFilter, CdrService
from tests.data.cdr_world import DAY, call, world, write


async def _all_pages(svc, cid, day, f=CdrFilter(), limit=5):
    seen, after, pages = [], None, 0
    while True:
        page = await svc.page(cid, day, f, after=after, limit=limit)
        seen += page.rows
        pages += 1
        if not page.more:
            return seen, pages
        after = page.after


async def test_pages_neither_repeat_nor_skip_rows_sharing_a_time(db):
    ids = await world(db)
    t = DAY + timedelta(hours=20)
    # 23 more calls at one and the same millisecond: page edges fall inside them
    await write(db, [call(ids, 200 + i, at=t, seconds=1) for i in range(23)])
    svc = CdrService(db, Actor("v", "viewer"))
    rows, pages = await _all_pages(svc, ids["Alice"], DAY.date(), limit=5)
    assert len(rows) == 12 + 4 + 23 and pages == 8  # the simulated call is not a CDR here
    assert len({r.call_id for r in rows}) == len(rows)
    assert [r.key for r in rows] == sorted(r.key for r in rows)
    assert not any(r.call_id.startswith("SIM-") for r in rows)
    # another day holds none of them
    assert (await svc.page(ids["Alice"], (DAY + timedelta(days=1)).date())).rows == []


async def test_filters(db):
    ids = await world(db)
    svc = CdrService(db, Actor("v", "viewer"))
    day = DAY.date()

    async def ids_of(f):
        return [r.call_id for r in (await svc.page(ids["Alice"], day, f)).rows]

    assert len(await ids_of(CdrFilter("answered"))) == 12
    assert await ids_of(CdrFilter("failed")) == ["c00100", "c00101", "c00102", "c00103"]
    assert len(await ids_of(CdrFilter(sip_code=486))) == 4
    assert await ids_of(CdrFilter("answered", sip_code=486)) == []
    assert await ids_of(CdrFilter(query="c0010")) == ["c00100", "c00101", "c00102", "c00103"]
    assert len(await ids_of(CdrFilter(query="+44 1234"))) == 16  # typed as a number
    assert await ids_of(CdrFilter(query="100%")) == []  # % is a character, not a wildcard
    with pytest.raises(ValueError):
        CdrFilter(sip_code=42)
    with pytest.raises(ValueError):
        CdrFilter(outcome="maybe")


async def test_detail_has_every_field_and_the_provider_name(db):
    ids = await world(db)
    svc = CdrService(db, Actor("v", "viewer"))
    first = (await svc.page(ids["Alice"], DAY.date(), limit=1)).rows[0]
    r = await svc.detail(first.id)
    assert (r.call_id, r.provider, r.duration_ms, r.billed_s, str(r.charge)) == (
        "c00000", "Acme", 9100, 10, "1.000000")
    assert r.pdd_ms == 900 and r.source_ip == "192.0.2.10" and r.route_id == ids["route"]
    with pytest.raises(NotFound):
        await svc.detail(10**9)


async def test_export_streams_a_range_of_days_in_chunks(db):
    ids = await world(db)
    await write(db, [call(ids, 300, at=DAY + timedelta(days=1, hours=1), seconds=2)])
    svc = CdrService(db, Actor("v", "viewer"))
    chunks = [c async for c in svc.export(ids["Alice"], DAY.date(),
                                          (DAY + timedelta(days=1)).date(), chunk=5)]
    assert [len(c) for c in chunks] == [5, 5, 5, 2]
    assert chunks[-1][-1].call_id == "c00300"
    one_day = [r async for c in svc.export(ids["Alice"], DAY.date(), DAY.date()) for r in c]
    assert len(one_day) == 16
    assert await svc.customer_named("alice") == (ids["Alice"], "Alice", "USD")
    with pytest.raises(NotFound):
        await svc.customer_named("nobody")


async def test_search_with_letters_is_caseless(db):
    ids = await world(db)
    cdr = call(ids, 400, at=DAY + timedelta(hours=22), seconds=1)
    await write(db, [replace(cdr, cli_in="Anonymous", cli_out="Anonymous")])
    svc = CdrService(db, Actor("v", "viewer"))
    for typed in ("anonym", "ANONYM", "Anonym"):
        rows = (await svc.page(ids["Alice"], DAY.date(), CdrFilter(query=typed))).rows
        assert [r.call_id for r in rows] == ["c00400"], typed
