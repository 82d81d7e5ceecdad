"""seed(): the order the demo is written in, one transaction per step."""

from __future__ import annotations

import random
from datetime import UTC, timedelta

from sqlalchemy import func, select

from connex_tui.data import search
from connex_tui.data.db import Database
from connex_tui.data.models import Customer, Did, Provider, RateCard
from connex_tui.feeds.demo.catalogue import Catalogue, write_packages, write_world
from connex_tui.feeds.demo.customers import Cust, Factory, Payments, write_customers
from connex_tui.feeds.demo.history import History, size_credit, write_dialogs
from connex_tui.feeds.demo.options import DemoError, DemoOptions, Progress
from connex_tui.feeds.demo.rows import fix_sequences, insert_rows
from connex_tui.feeds.demo.showcase import simulate_showcase, write_showcase

CHUNK = 2000  # customers per transaction in the set-up pass
DAY_WEIGHT = 20  # a customer-day of history costs about 20x setting up one customer


async def seed(db: Database, opts: DemoOptions, progress: Progress | None = None) -> str:
    """Fill an empty database with the demo; returns a one-line summary."""
    now = opts.now.astimezone(UTC)
    async with db.sessions() as s:
        for model in (Customer, Provider, RateCard):
            if await s.scalar(select(func.count()).select_from(model)):
                raise DemoError(f"the database already has {model.__tablename__}: the demo "
                                "needs an empty database")
    rng = random.Random(f"{opts.seed}:static")
    cat = Catalogue(rng, now)
    # progress units: one per customer set up, DAY_WEIGHT per customer-day of history
    total = opts.customers + opts.days * opts.history_customers * DAY_WEIGHT + 1
    done = 0
    if progress:
        progress(0, total)

    async with db.sessions() as s, s.begin():
        await write_world(s, cat, now)
        packages = await write_packages(s, now)
    factory = Factory(rng, cat, opts, now, packages)
    payments = Payments(random.Random(f"{opts.seed}:payments"))
    cdr_custs: list[Cust] = []
    pool: list[Cust] = []  # candidates for the routing showcase
    all_ids: list[int] = []
    for start in range(0, opts.customers, CHUNK):
        chunk = [factory.make(i) for i in range(start, min(opts.customers, start + CHUNK))]
        for c in chunk:
            size_credit(c, cat, opts.seed)
        async with db.sessions() as s, s.begin():
            await write_customers(s, chunk, payments, now, opts)
            await fix_sequences(s)
        all_ids += [c.id for c in chunk]
        cdr_custs += [c for c in chunk if c.cdr]
        pool += [c for c in chunk if c.idx < 40]
        for c in chunk:
            if not c.cdr:
                c.row = {}
        done += len(chunk)
        if progress:
            progress(done, total)
    async with db.sessions() as s, s.begin():  # numbers in stock, not sold yet
        await insert_rows(s, Did, [factory.did("GB" if i % 2 else "US", None, now - timedelta(
            days=opts.days + 30)) for i in range(min(25, 5 + opts.customers // 4))])
    history = History(db, cat, cdr_custs, opts, now, payments, progress, done, total,
                      opts.history_customers * DAY_WEIGHT)
    await history.run()
    async with db.sessions() as s, s.begin():
        await write_dialogs(s, cdr_custs, history, now)
        await search.reindex(s, all_ids)
        await fix_sequences(s)
        showcase = await write_showcase(s, cat, pool, now, opts.seed)
    sims = await simulate_showcase(db, showcase, now, opts.seed)
    if progress:
        progress(total, total)
    return (f"{opts.customers:,} customers, {history.count:,} CDRs, "
            f"{payments.count:,} payments, {sims} simulations")
