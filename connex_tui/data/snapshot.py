"""Builds the engine's Snapshot (engine/snapshot.py) from the database and keeps it current.

`SnapshotCache.get()` compares the configuration generation (data/config_state.py) with the
one it loaded; when it differs, everything but the rate-card indexes is reread (a few
thousand small rows at most) and a card's index is rebuilt only when the card's `version`
changed — a 1,000,000-row card is not reloaded because someone edited a CLI rule.

Customers are not routing configuration: their balance moves with every call and their
status and limits are edited without a generation bump. So:
- archive, restore and erase through CustomerService bump the generation (a restored
  customer's auth entries and routes come back with it); the number of live customers is
  also checked on every `get()`, for archive states written by other means;
- `refresh_customer(id)` rereads one customer's row (balance, debit limit, status, limits)
  right before a decision is final — CallsService calls it for the customer step 1 found.
"""

from __future__ import annotations

import asyncio
import gc
import ipaddress
import json
import logging
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, cast, extract, func, select, type_coerce
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from connex_tui.data.db import Database
from connex_tui.data.models import (
    CliRule,
    ConfigState,
    Customer,
    IngressRoute,
    IpAuth,
    Provider,
    RateCard,
    RateCardParent,
    RateRow,
    RouteCardFilter,
    RouteStrategy,
    RoutingScript,
    SipUser,
)
from connex_tui.engine.rating import PrefixIndex
from connex_tui.engine.scripts import parse_script
from connex_tui.engine.snapshot import (
    CardS,
    CliRuleS,
    CustomerS,
    IpAuthS,
    ProviderS,
    RouteS,
    RowTuple,
    SipUserS,
    Snapshot,
    StrategyCardS,
    StrategyS,
)

log = logging.getLogger(__name__)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

ROW_CHUNK = 50_000  # rate rows fetched per round trip while an index is built


async def load_snapshot(db: Database, *, archived: bool = False) -> Snapshot:
    """A fresh Snapshot of the whole routing configuration (no caching). `archived` keeps
    archived customers with their auth and routes: the demo replays a history in which
    they were still trading."""
    cache = SnapshotCache(db)
    if not archived:
        return await cache.get()
    async with db.engine.connect() as conn:
        generation, _live = await _watermarks(conn)
        return await cache._load(conn, generation, archived=True)


class SnapshotCache:
    """One per process (the app and the `simulate` command each hold one)."""

    def __init__(self, db: Database):
        self.db = db
        self._snap: Snapshot | None = None
        self._live_customers = -1
        # card id -> ((version, created_at), index)
        self._indexes: dict[int, tuple[tuple[int, datetime], PrefixIndex]] = {}
        self._networks: dict[str, Network | None] = {}  # parsed hosts of the last load
        self._lock = asyncio.Lock()
        self.warnings: tuple[str, ...] = ()  # what the last load skipped, and why
        self.loads = 0  # full configuration loads so far (tests and the bench read it)
        self.cards_loaded = 0  # card indexes built from rows so far

    async def get(self) -> Snapshot:
        async with self._lock, self.db.engine.connect() as conn:
            generation, live = await _watermarks(conn)
            snap = self._snap
            if (snap is not None and snap.generation == generation
                    and live == self._live_customers):
                return snap
            snap = await self._load(conn, generation)
            self._snap, self._live_customers = snap, live
            return snap

    async def refresh_customer(self, customer_id: int) -> Snapshot | None:
        """Reread one customer's row into the cached snapshot. Returns the snapshot to decide
        against again when anything the pipeline reads has changed, else None. A customer
        archived or erased since the load makes the whole configuration reload."""
        async with self._lock:
            snap = self._snap
            if snap is None:
                return None
            async with self.db.engine.connect() as conn:
                row = (await conn.execute(_customer_select().where(
                    Customer.id == customer_id))).first()
                if row is None or row.archived_at is not None:
                    generation, live = await _watermarks(conn)
                    snap = await self._load(conn, generation)
                    self._snap, self._live_customers = snap, live
                    return snap
            fresh = _customer(row)
            if snap.customers.get(customer_id) == fresh:
                return None
            snap.customers[customer_id] = fresh
            return snap

    async def _load(self, conn: AsyncConnection, generation: int, *,
                    archived: bool = False) -> Snapshot:
        with _gc_paused():
            return await self._load_all(conn, generation, archived)

    async def _load_all(self, conn: AsyncConnection, generation: int,
                        archived: bool = False) -> Snapshot:
        warnings: list[str] = []
        snap = Snapshot(generation=generation)
        snap.customers = await _customers(conn, archived)
        live = snap.customers
        snap.providers = {r.id: ProviderS(r.id, r.name, r.status, r.host)
                          for r in await conn.execute(select(
                              Provider.id, Provider.name, Provider.status, Provider.host))}
        snap.cards = await self._cards(conn)
        names = {c.name: c.id for c in snap.cards.values()}
        snap.scripts = {}
        for sid, name, body in await conn.execute(select(
                RoutingScript.id, RoutingScript.name, RoutingScript.body)):
            try:
                snap.scripts[sid] = parse_script(body, name)
            except ValueError as exc:  # stored before the parser grew stricter, say
                warnings.append(f"script {name!r} skipped: {exc}")
        networks = _Networks(self._networks)
        snap.ip_auth = await _ip_auth(conn, live, networks, warnings)
        snap.sip_users = await _sip_users(conn, live, networks, warnings)
        self._networks = networks.seen
        snap.routes = await _routes(conn, live, names, warnings)
        rules: dict[int, list[CliRuleS]] = defaultdict(list)
        for rid, cid, cli, rewrite, pai, forced, position in await conn.execute(select(
                CliRule.id, CliRule.customer_id, CliRule.cli, CliRule.rewrite_cli,
                CliRule.p_asserted_id, CliRule.forced, CliRule.position)
                .order_by(CliRule.position, CliRule.id)):
            if cid in live:
                rules[cid].append(CliRuleS(rid, cid, cli, rewrite, pai, bool(forced), position))
        snap.cli_rules = {cid: tuple(rs) for cid, rs in rules.items()}
        for w in warnings:
            log.warning("routing snapshot: %s", w)
        self.warnings = tuple(warnings)
        self.loads += 1
        return snap

    async def _cards(self, conn: AsyncConnection) -> dict[int, CardS]:
        parents: dict[int, list[int]] = defaultdict(list)
        for child, parent in await conn.execute(
                select(RateCardParent.customer_card_id, RateCardParent.provider_card_id)
                .order_by(RateCardParent.customer_card_id, RateCardParent.provider_card_id)):
            parents[child].append(parent)
        cards: dict[int, CardS] = {}
        indexes: dict[int, tuple[tuple[int, datetime], PrefixIndex]] = {}
        for r in (await conn.execute(select(
                RateCard.id, RateCard.version, RateCard.created_at, RateCard.name,
                RateCard.currency,
                RateCard.direction, RateCard.precision, RateCard.rounding,
                RateCard.provider_id).order_by(RateCard.id))).all():
            # created_at too: SQLite reuses a deleted card's id, and its version restarts
            known = self._indexes.get(r.id)
            if known is not None and known[0] == (r.version, r.created_at):
                index = known[1]
            else:
                index = await load_index(conn, r.id)
                self.cards_loaded += 1
            indexes[r.id] = ((r.version, r.created_at), index)
            cards[r.id] = CardS(r.id, r.name, r.currency, r.direction, r.precision,
                                r.rounding, index, r.provider_id, tuple(parents.get(r.id, ())))
        self._indexes = indexes  # deleted cards drop out here
        return cards


@contextmanager
def _gc_paused():
    """No cyclic GC while hundreds of thousands of small objects are made: each collection
    would rescan them all (it nearly halves a 100,000-customer load). Collection resumes
    after; the objects have no cycles, so nothing piles up meanwhile."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


# -- rate rows ---------------------------------------------------------------------------
def _rows_select(conn: Connection, card_id: int):
    """Rate rows as RowTuple columns, with no per-value conversion in Python: money as the
    stored micro-units, the effective time as UTC epoch seconds (computed by the database)."""
    t = RateRow.__table__
    if conn.dialect.name == "sqlite":  # stored naive UTC text: strftime('%s') reads it as UTC
        epoch = cast(func.strftime("%s", type_coerce(t.c.effective_from, String)), Integer)
    else:  # timestamp without time zone: the epoch of its nominal (UTC) value
        epoch = cast(extract("epoch", t.c.effective_from), BigInteger)
    return (select(t.c.prefix, t.c.destination, type_coerce(t.c.rate, BigInteger),
                   type_coerce(t.c.connect_fee, BigInteger), t.c.mcd, t.c.pulse,
                   type_coerce(t.c.blocked, Integer), epoch)
            .where(t.c.card_id == card_id)
            .order_by(t.c.prefix, t.c.id))  # the card's index order; id: later row wins ties


def iter_card_rows(conn: Connection, card_id: int) -> Iterator[RowTuple]:
    """Stream one card's rows (sync connection: run through AsyncConnection.run_sync).
    `yield_per` keeps a server-side cursor on PostgreSQL and bounded buffers on both."""
    result = conn.execute(_rows_select(conn, card_id).execution_options(yield_per=ROW_CHUNK))
    for chunk in result.partitions():
        yield from chunk  # Rows unpack like RowTuple (blocked as 0/1)


def build_index(conn: Connection, card_id: int) -> PrefixIndex:
    return PrefixIndex.from_rows(iter_card_rows(conn, card_id))


async def load_index(conn: AsyncConnection, card_id: int) -> PrefixIndex:
    """One card's PrefixIndex. A SQLite file is read on a plain sqlite3 connection in a
    worker thread: 1,000,000 rows in ~1.6 s instead of ~4.6 s through aiosqlite's per-chunk
    thread hops, and the event loop (the UI) stays free meanwhile. Elsewhere (PostgreSQL,
    in-memory SQLite) the rows stream through the connection itself."""
    path = _sqlite_file(conn)
    if path is None:
        return await conn.run_sync(build_index, card_id)
    sql = str(_rows_select(conn.sync_connection, card_id).compile(
        dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    return await asyncio.to_thread(_sqlite_index, path, sql)


def _sqlite_file(conn: AsyncConnection) -> str | None:
    url = conn.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:" \
            or url.database.startswith("file:"):
        return None
    return url.database


def _sqlite_index(path: str, sql: str) -> PrefixIndex:
    from urllib.request import pathname2url  # with http.client: only when a card loads

    raw = sqlite3.connect(f"file:{pathname2url(path)}?mode=ro", uri=True, timeout=30)
    try:
        cur = raw.execute(sql)

        def chunks() -> Iterator[RowTuple]:
            while rows := cur.fetchmany(ROW_CHUNK):
                yield from rows

        return PrefixIndex.from_rows(chunks())
    finally:
        raw.close()


# -- the small tables --------------------------------------------------------------------
async def _watermarks(conn: AsyncConnection) -> tuple[int, int]:
    """(configuration generation, number of live customers): both cheap (one row, and a
    count over an index)."""
    generation = int(await conn.scalar(
        select(ConfigState.generation).where(ConfigState.id == 1)) or 0)
    live = int(await conn.scalar(select(func.count()).select_from(Customer).where(
        Customer.archived_at.is_(None))) or 0)
    return generation, live


def _customer_select():
    return select(Customer.id, Customer.name, Customer.status, Customer.currency,
                  Customer.balance, Customer.debit_limit, Customer.channels,
                  Customer.flow_speed, Customer.archived_at)


def _customer(row) -> CustomerS:
    return CustomerS(*row[:8])  # the columns of _customer_select, in CustomerS order


async def _customers(conn: AsyncConnection, archived: bool = False) -> dict[int, CustomerS]:
    """Live customers (and archived ones if asked) that can be authenticated at all (an
    ingress auth entry or a SIP user): on a 100,000-customer database the others would only
    cost load time."""
    authed = (select(IpAuth.customer_id).union(select(SipUser.customer_id))).subquery()
    stmt = _customer_select().where(Customer.id.in_(select(authed.c.customer_id)))
    if not archived:
        stmt = stmt.where(Customer.archived_at.is_(None))
    return {row[0]: _customer(row) for row in await conn.execute(stmt)}


class _Networks:
    """Host text -> ip_network (None for a host name), reusing the previous load's objects:
    a reload after a configuration change parses only the hosts that are new."""

    def __init__(self, previous: dict[str, Network | None]):
        self.previous = previous
        self.seen: dict[str, Network | None] = {}

    def __call__(self, text: str) -> Network | None:
        hit = self.seen.get(text, _MISSING)
        if hit is _MISSING:
            hit = self.previous.get(text, _MISSING)
            if hit is _MISSING:
                try:
                    hit = ipaddress.ip_network(text.strip(), strict=False)
                except ValueError:
                    hit = None
            self.seen[text] = hit
        return hit


_MISSING = object()
# Rows are unpacked by position: attribute access on 100,000s of Rows costs seconds.
_AUTH_COLUMNS = (IpAuth.id, IpAuth.customer_id, IpAuth.host, IpAuth.direction,
                 IpAuth.channels, IpAuth.flow_speed, IpAuth.cli_prefix, IpAuth.tech_prefix,
                 IpAuth.strip_digits)
_SIP_COLUMNS = (SipUser.id, SipUser.customer_id, SipUser.username, SipUser.ha1,
                SipUser.channels, SipUser.flow_speed, SipUser.ip_whitelist)


async def _ip_auth(conn: AsyncConnection, live: dict[int, CustomerS], networks: _Networks,
                   warnings: list[str]) -> tuple[IpAuthS, ...]:
    out = []
    for aid, cid, host, direction, *rest in await conn.execute(
            select(*_AUTH_COLUMNS).order_by(IpAuth.id)):
        if cid not in live:
            continue
        network = networks(host)  # None: a host name, for egress only
        if network is None and direction == "ingress":
            warnings.append(f"ingress IP auth {host!r} (id {aid}) is not an address")
        out.append(IpAuthS(aid, cid, host, network, direction, *rest))
    return tuple(out)


async def _sip_users(conn: AsyncConnection, live: dict[int, CustomerS], networks: _Networks,
                     warnings: list[str]) -> dict[str, SipUserS]:
    out = {}
    for uid, cid, username, ha1, channels, flow_speed, whitelist in await conn.execute(
            select(*_SIP_COLUMNS).order_by(SipUser.id)):
        if cid not in live:
            continue
        nets = []
        for line in whitelist.splitlines():
            if line.strip():
                net = networks(line)
                if net is None:
                    warnings.append(f"SIP user {username!r}: whitelist entry {line!r} ignored")
                else:
                    nets.append(net)
        if whitelist.strip() and not nets:
            # every entry unreadable: an empty whitelist would mean "any IP", so allow none
            nets.append(ipaddress.ip_network("0.0.0.0/32"))
        out[username] = SipUserS(uid, cid, username, ha1, channels, flow_speed, tuple(nets))
    return out


def _strategy_cards(raw: str, names: dict[str, int], where: str,
                    warnings: list[str]) -> tuple[StrategyCardS, ...]:
    """The JSON of route_strategies.cards: [{card, priority, weight}] where card is the
    provider card's id (or its name; card_id is accepted too)."""
    try:
        items = json.loads(raw or "[]")
    except ValueError:
        warnings.append(f"{where}: unreadable strategy cards {raw[:40]!r}")
        return ()
    out = []
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict):
            continue
        card = item.get("card_id", item.get("card"))
        card_id = names.get(card) if isinstance(card, str) else card
        if not isinstance(card_id, int):
            warnings.append(f"{where}: strategy card {card!r} not found")
            continue
        out.append(StrategyCardS(card_id, int(item.get("priority") or 0),
                                 int(item.get("weight") or 0)))
    return tuple(out)


async def _routes(conn: AsyncConnection, live: dict[int, CustomerS], names: dict[str, int],
                  warnings: list[str]) -> dict[int, tuple[RouteS, ...]]:
    locks: dict[int, set[int]] = defaultdict(set)
    excludes: dict[int, set[int]] = defaultdict(set)
    for route_id, card_id, kind in await conn.execute(select(
            RouteCardFilter.route_id, RouteCardFilter.card_id, RouteCardFilter.kind)):
        (locks if kind == "lock" else excludes)[route_id].add(card_id)
    strategies: dict[int, list[StrategyS]] = defaultdict(list)
    for route_id, prefix, mode, cards in await conn.execute(select(
            RouteStrategy.route_id, RouteStrategy.prefix, RouteStrategy.mode,
            RouteStrategy.cards).order_by(RouteStrategy.id)):
        strategies[route_id].append(StrategyS(
            prefix, mode, _strategy_cards(cards, names, f"route {route_id}", warnings)))
    out: dict[int, list[RouteS]] = defaultdict(list)
    r = IngressRoute
    for (rid, cid, card_id, tech, dial, capped, pcapped, pa, bcc, channels, flow_speed,
         max_duration, script_id, media, mode, enabled, position) in await conn.execute(select(
            r.id, r.customer_id, r.rate_card_id, r.tech_prefix, r.dial_string, r.capped_rate,
            r.provider_capped_rate, r.profit_assurance, r.block_connect_cost, r.channels,
            r.flow_speed, r.max_duration, r.script_id, r.rtp_media_proxy, r.rtp_proxy_mode,
            r.enabled, r.position).order_by(r.customer_id, r.position, r.id)):
        if cid not in live:
            continue
        out[cid].append(RouteS(
            rid, cid, card_id, tech, tuple(x.strip() for x in dial.splitlines() if x.strip()),
            capped, pcapped, bool(pa), bool(bcc), channels, flow_speed, max_duration,
            frozenset(locks.get(rid, ())), frozenset(excludes.get(rid, ())),
            tuple(strategies.get(rid, ())), script_id, media, mode, bool(enabled), position))
    return {cid: tuple(rs) for cid, rs in out.items()}

