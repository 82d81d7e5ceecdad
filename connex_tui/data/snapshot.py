"""Builds the engine's Snapshot (engine/snapshot.py) from the database and keeps it current.

`SnapshotCache.get()` compares the configuration generation (data/config_state.py) with the
one it loaded; when it differs, everything but the rate-card indexes is reread (a few
thousand small rows at most) and a card's index is rebuilt only when the card's `version`
changed — a 1,000,000-row card is not reloaded because someone edited a CLI rule.

Customers are not routing configuration: their balance moves with every call and their
status, limits and archive state are edited without a generation bump. So:
- the configuration is reloaded (card indexes reused) when the number of live (not
  archived) customers changes (archive, restore, create, erase), checked on every `get()`:
  a restored customer's auth entries and routes come back with it;
- `refresh_customer(id)` rereads one customer's row (balance, debit limit, status, limits)
  right before a decision is final — CallsService calls it for the customer step 1 found.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from urllib.request import pathname2url

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

ROW_CHUNK = 50_000  # rate rows fetched per round trip while an index is built


async def load_snapshot(db: Database) -> Snapshot:
    """A fresh Snapshot of the whole routing configuration (no caching)."""
    return await SnapshotCache(db).get()


class SnapshotCache:
    """One per process (the app and the `simulate` command each hold one)."""

    def __init__(self, db: Database):
        self.db = db
        self._snap: Snapshot | None = None
        self._live_customers = -1
        self._indexes: dict[int, tuple[int, PrefixIndex]] = {}  # card id -> (version, index)
        self._lock = asyncio.Lock()
        self.warnings: tuple[str, ...] = ()  # what the last load skipped, and why
        self.loads = 0  # full configuration loads so far (tests and the bench read it)
        self.cards_loaded = 0  # card indexes built from rows so far

    def invalidate(self) -> None:
        """Forget the loaded configuration: the next get() reloads it (card indexes whose
        version is unchanged are still reused)."""
        self._snap = None

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

    async def _load(self, conn: AsyncConnection, generation: int) -> Snapshot:
        warnings: list[str] = []
        snap = Snapshot(generation=generation)
        snap.customers = await _customers(conn)
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
        snap.ip_auth = tuple(_ip_auth(r, warnings) for r in await conn.execute(
            select(IpAuth).order_by(IpAuth.id)) if r.customer_id in live)
        snap.sip_users = {r.username: _sip_user(r, warnings) for r in await conn.execute(
            select(SipUser).order_by(SipUser.id)) if r.customer_id in live}
        snap.routes = await _routes(conn, live, names, warnings)
        rules: dict[int, list[CliRuleS]] = defaultdict(list)
        for r in await conn.execute(select(CliRule).order_by(CliRule.position, CliRule.id)):
            if r.customer_id in live:
                rules[r.customer_id].append(CliRuleS(
                    r.id, r.customer_id, r.cli, r.rewrite_cli, r.p_asserted_id,
                    bool(r.forced), r.position))
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
        indexes: dict[int, tuple[int, PrefixIndex]] = {}
        for r in (await conn.execute(select(
                RateCard.id, RateCard.version, RateCard.name, RateCard.currency,
                RateCard.direction, RateCard.precision, RateCard.rounding,
                RateCard.provider_id).order_by(RateCard.id))).all():
            known = self._indexes.get(r.id)
            if known is not None and known[0] == r.version:
                index = known[1]
            else:
                index = await load_index(conn, r.id)
                self.cards_loaded += 1
            indexes[r.id] = (r.version, index)
            cards[r.id] = CardS(r.id, r.name, r.currency, r.direction, r.precision,
                                r.rounding, index, r.provider_id, tuple(parents.get(r.id, ())))
        self._indexes = indexes  # deleted cards drop out here
        return cards


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


def _customer(r) -> CustomerS:
    return CustomerS(r.id, r.name, r.status, r.currency, r.balance, r.debit_limit,
                     r.channels, r.flow_speed)


async def _customers(conn: AsyncConnection) -> dict[int, CustomerS]:
    """Live customers that can be authenticated at all (an ingress auth entry or a SIP user):
    on a 100,000-customer database the others would only cost load time."""
    authed = (select(IpAuth.customer_id).union(select(SipUser.customer_id))).subquery()
    stmt = _customer_select().where(Customer.archived_at.is_(None),
                                    Customer.id.in_(select(authed.c.customer_id)))
    return {r.id: _customer(r) for r in await conn.execute(stmt)}


def _network(text: str):
    return ipaddress.ip_network(text.strip(), strict=False)


def _ip_auth(r, warnings: list[str]) -> IpAuthS:
    try:
        network = _network(r.host)
    except ValueError:
        network = None  # a host name: egress entries only, never matched by source IP
        if r.direction == "ingress":
            warnings.append(f"ingress IP auth {r.host!r} (id {r.id}) is not an address")
    return IpAuthS(r.id, r.customer_id, r.host, network, r.direction, r.channels,
                   r.flow_speed, r.cli_prefix, r.tech_prefix, r.strip_digits)


def _sip_user(r, warnings: list[str]) -> SipUserS:
    nets = []
    for line in r.ip_whitelist.splitlines():
        if line.strip():
            try:
                nets.append(_network(line))
            except ValueError:
                warnings.append(f"SIP user {r.username!r}: whitelist entry {line!r} ignored")
    if r.ip_whitelist.strip() and not nets:
        # every entry unreadable: an empty whitelist would mean "any IP", so allow none
        nets.append(ipaddress.ip_network("0.0.0.0/32"))
    return SipUserS(r.id, r.customer_id, r.username, r.ha1, r.channels, r.flow_speed,
                    tuple(nets))


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
    for r in await conn.execute(select(RouteStrategy).order_by(RouteStrategy.id)):
        strategies[r.route_id].append(StrategyS(
            r.prefix, r.mode, _strategy_cards(r.cards, names, f"route {r.route_id}",
                                              warnings)))
    out: dict[int, list[RouteS]] = defaultdict(list)
    for r in await conn.execute(select(IngressRoute).order_by(
            IngressRoute.customer_id, IngressRoute.position, IngressRoute.id)):
        if r.customer_id not in live:
            continue
        out[r.customer_id].append(RouteS(
            r.id, r.customer_id, r.rate_card_id, r.tech_prefix,
            tuple(x.strip() for x in r.dial_string.splitlines() if x.strip()),
            r.capped_rate, r.provider_capped_rate, bool(r.profit_assurance),
            bool(r.block_connect_cost), r.channels, r.flow_speed, r.max_duration,
            frozenset(locks.get(r.id, ())), frozenset(excludes.get(r.id, ())),
            tuple(strategies.get(r.id, ())), r.script_id, r.rtp_media_proxy,
            r.rtp_proxy_mode, bool(r.enabled), r.position))
    return {cid: tuple(rs) for cid, rs in out.items()}

