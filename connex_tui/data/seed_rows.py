"""Bulk inserts of prepared rows, one function per table, for a seeder that fills an empty
database (the demo); and the few edits its routing showcase makes afterwards.

Rows are dicts of column values; missing columns take their Core defaults. Functions that
return ids number the rows themselves after max(id) instead of asking for RETURNING:
SQLite answers an ordered RETURNING one row per statement, 30x slower. The seeder is the
only writer meanwhile (same transaction), and `fix_sequences` moves PostgreSQL's sequences
past those ids.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from connex_tui.data import bulk
from connex_tui.data.models import (
    Alert,
    AlertEvent,
    AuditEntry,
    CliRule,
    Contact,
    Customer,
    CustomerPackage,
    Dialog,
    Did,
    IngressRoute,
    IpAuth,
    Operator,
    Package,
    Payment,
    Provider,
    RateCard,
    RateCardParent,
    RateRow,
    RouteCardFilter,
    RouteStrategy,
    RoutingScript,
    SipUser,
)

Session = AsyncSession  # what the seeder's functions are handed (from Database.sessions())
Adder = Callable[[AsyncSession, list[dict]], Awaitable[list[int]]]
SLICE = 5000  # rows per executemany


def _full(table, rows: list[dict]) -> list[dict]:
    """Every row with every column but the key (Core defaults filled, keys uniform)."""
    defaults = {c.name: c.default.arg for c in table.columns
                if c.default is not None and c.default.is_scalar}
    return [{**defaults, **r} for r in rows]


def _adder(model, *, numbered: bool = False) -> Adder:
    table = model.__table__

    async def add(session: AsyncSession, rows: list[dict]) -> list[int]:
        if not rows:
            return []
        rows = _full(table, rows)
        ids: list[int] = []
        if numbered:
            first = (await session.scalar(select(func.max(table.c.id))) or 0) + 1
            ids = list(range(first, first + len(rows)))
            rows = [{**r, "id": i} for i, r in zip(ids, rows, strict=True)]
        for i in range(0, len(rows), SLICE):
            await bulk.executemany(session, insert(table), table, rows[i:i + SLICE])
        return ids

    add.__name__ = f"add_{table.name}"
    add.__doc__ = f"Insert rows into {table.name}" + ("; returns their ids." if numbered
                                                      else ".")
    return add


add_operators = _adder(Operator)
add_providers = _adder(Provider, numbered=True)
add_rate_cards = _adder(RateCard, numbered=True)
add_rate_rows = _adder(RateRow)
add_card_parents = _adder(RateCardParent)
add_packages = _adder(Package, numbered=True)
add_customers = _adder(Customer, numbered=True)
add_contacts = _adder(Contact)
add_ip_auth = _adder(IpAuth, numbered=True)
add_sip_users = _adder(SipUser)
add_routes = _adder(IngressRoute, numbered=True)
add_cli_rules = _adder(CliRule)
add_dids = _adder(Did)
add_customer_packages = _adder(CustomerPackage)
add_alerts = _adder(Alert, numbered=True)
add_alert_events = _adder(AlertEvent)
add_audit_entries = _adder(AuditEntry)
add_payments = _adder(Payment, numbered=True)
add_dialogs = _adder(Dialog)

_NUMBERED = (Provider, RateCard, Package, Customer, IpAuth, IngressRoute, Alert, Payment)


async def fix_sequences(session: AsyncSession) -> None:
    """PostgreSQL: next ids after the explicit ones the adders wrote (SQLite needs none)."""
    if session.bind.dialect.name != "postgresql":
        return
    for model in _NUMBERED:
        name = model.__tablename__
        await session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), max(id)) FROM {name} "
            "HAVING max(id) IS NOT NULL"))


async def operator_names(session: AsyncSession) -> set[str]:
    return set((await session.scalars(select(Operator.name))).all())


# -- the routing showcase's edits ----------------------------------------------------------
async def customers_with_live_calls(session: AsyncSession) -> set[int]:
    return set((await session.scalars(select(Dialog.customer_id).distinct())).all())


async def available_credit(session: AsyncSession, ids: Iterable[int]) -> dict[int, Decimal]:
    """Balance + debit limit of each customer."""
    ids = list(ids)
    if not ids:
        return {}
    return dict((await session.execute(select(
        Customer.id, Customer.balance + Customer.debit_limit).where(
        Customer.id.in_(ids)))).all())


async def add_script(session: AsyncSession, name: str, body: str, at: datetime) -> int:
    return await session.scalar(insert(RoutingScript).values(
        name=name, body=body, version=1, created_at=at, updated_at=at)
        .returning(RoutingScript.id))


async def edit_route(session: AsyncSession, route_id: int, at: datetime, **values) -> None:
    """Set columns of an ingress route as an edit would (version + 1)."""
    await session.execute(update(IngressRoute).where(IngressRoute.id == route_id).values(
        **values, version=IngressRoute.version + 1, updated_at=at))


async def set_route_strategies(session: AsyncSession, route_id: int,
                               rows: list[dict]) -> None:
    """Replace a route's strategy rows: {prefix, mode, cards (JSON text)}."""
    await session.execute(delete(RouteStrategy).where(RouteStrategy.route_id == route_id))
    if rows:
        await session.execute(insert(RouteStrategy), [{**r, "route_id": route_id}
                                                      for r in rows])


async def add_route_card_filters(session: AsyncSession, route_id: int, kind: str,
                                 card_ids: Iterable[int]) -> None:
    """Lock a route to cards, or exclude cards from it (kind "lock" | "exclude")."""
    rows = [{"route_id": route_id, "card_id": cid, "kind": kind} for cid in card_ids]
    if rows:
        await session.execute(insert(RouteCardFilter), rows)
