"""seed(): the order the demo is written in, one transaction per step, and
seed_database(): the same made all-or-nothing for the `demo seed` command."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import UTC, timedelta
from pathlib import Path

from connex_tui.data import search, seed_rows, seeding
from connex_tui.data.db import Database
from connex_tui.feeds.demo.catalogue import Catalogue, write_packages, write_world
from connex_tui.feeds.demo.customers import Cust, Factory, Payments, write_customers
from connex_tui.feeds.demo.history import History, size_credit, write_dialogs
from connex_tui.feeds.demo.options import DemoError, DemoOptions, Progress
from connex_tui.feeds.demo.showcase import simulate_showcase, write_showcase

CHUNK = 2000  # customers per transaction in the set-up pass
DAY_WEIGHT = 20  # a customer-day of history costs about 20x setting up one customer


async def seed(db: Database, opts: DemoOptions, progress: Progress | None = None) -> str:
    """Fill an empty database with the demo; returns a one-line summary."""
    now = opts.now.astimezone(UTC)
    async with db.sessions() as s, s.begin():
        if await seeding.interrupted(s):  # a seeding killed midway: all of it goes
            await seeding.wipe(s)
        elif table := await seeding.business_table(s):
            raise DemoError(f"the database already has {table}: the demo needs an empty "
                            "database")
        await seeding.mark(s, now)
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
            await seed_rows.fix_sequences(s)
        all_ids += [c.id for c in chunk]
        cdr_custs += [c for c in chunk if c.cdr]
        pool += [c for c in chunk if c.idx < 40]
        for c in chunk:  # written: keep only what the history and the showcase read
            if c.idx >= 40:
                c.row, c.contacts, c.sip, c.cli_rules, c.dids, c.alerts, c.packages = (
                    {}, [], [], [], [], [], [])
                for route in c.routes:
                    route.row = {}
            elif not c.cdr:
                c.row = {}
        done += len(chunk)
        if progress:
            progress(done, total)
    async with db.sessions() as s, s.begin():  # numbers in stock, not sold yet
        await seed_rows.add_dids(s, [factory.did("GB" if i % 2 else "US", None, now - timedelta(
            days=opts.days + 30)) for i in range(min(25, 5 + opts.customers // 4))])
    history = History(db, cat, cdr_custs, opts, now, payments, progress, done, total,
                      opts.history_customers * DAY_WEIGHT)
    await history.run()
    async with db.sessions() as s, s.begin():
        await write_dialogs(s, cdr_custs, history, now)
        await search.reindex(s, all_ids)
        await seed_rows.fix_sequences(s)
        showcase = await write_showcase(s, cat, pool, now, opts.seed)
    sims = await simulate_showcase(db, showcase, now, opts.seed)
    async with db.sessions() as s, s.begin():
        await seeding.unmark(s)
    if progress:
        progress(total, total)
    return (f"{opts.customers:,} customers, {history.count:,} CDRs, "
            f"{payments.count:,} payments, {sims} simulations")


async def seed_database(url: str, opts: DemoOptions, progress: Progress | None = None,
                        *, prepare: Callable[[Database], Awaitable[None]],
                        connect: Callable[[str], Database] = Database) -> str:
    """seed() as the command runs it: a SQLite file is seeded into FILE.tmp and renamed
    over FILE when complete, so an interrupted seeding never leaves a half-filled file;
    elsewhere a seeding killed midway is found by its marker and redone by the next run.
    `connect` opens a URL, `prepare` brings a database to the current schema."""
    staged = seeding.staging(url)
    if staged is None:
        db = connect(url)
        try:
            await prepare(db)
            return await seed(db, opts, progress)
        finally:
            await db.dispose()
    tmp_url, tmp, final = staged
    if final.exists():  # refused as seed() would refuse it, before any work
        db = connect(url)
        try:
            await prepare(db)
            async with db.sessions() as s:
                if not await seeding.interrupted(s) and (
                        table := await seeding.business_table(s)):
                    raise DemoError(f"the database already has {table}: the demo needs an "
                                    "empty database")
        finally:
            await db.dispose()
    _remove(tmp)  # what a killed run left
    db = connect(tmp_url)
    try:
        await prepare(db)
        summary = await seed(db, opts, progress)
    finally:
        await db.dispose()  # the last connection out checkpoints the WAL into the file
    _remove(final)
    tmp.replace(final)
    return summary


def _remove(path: Path) -> None:
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        p.unlink(missing_ok=True)
