"""Shared set-up for the routing-configuration service tests (rates, routes, auth)."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from connex_tui.data import config_state
from connex_tui.data.models import AuditEntry
from connex_tui.data.providers import ProvidersService


async def generation(db) -> int:
    async with db.sessions() as s:
        return await config_state.current(s)


async def count(db, model, *where) -> int:
    async with db.sessions() as s:
        return await s.scalar(select(func.count()).select_from(model).where(*where))


async def audits(db, table: str) -> list[tuple[str, int | None, int | None, dict]]:
    """(action, row_id, customer_id, changes) of the audit rows of a table, oldest first."""
    async with db.sessions() as s:
        rows = await s.scalars(select(AuditEntry).where(AuditEntry.table_name == table)
                               .order_by(AuditEntry.id))
        return [(r.action, r.row_id, r.customer_id, json.loads(r.changes)) for r in rows]


async def setup_cards(rates, currency: str = "USD", provider: str = "Acme",
                      cards: tuple[str, ...] = ("UK-A", "UK-B")) -> dict[str, int]:
    """A provider with provider cards, and a customer card 'Retail' parented by them."""
    await ProvidersService(rates.db, rates.actor, rates.clock).create_provider(
        {"name": provider, "host": "192.0.2.1"})
    ids = {}
    for name in cards:
        ids[name] = await rates.create_card({"name": name, "currency": currency,
                                             "direction": "provider", "provider": provider})
    ids["Retail"] = await rates.create_card({"name": "Retail", "currency": currency,
                                             "direction": "customer",
                                             "parents": "\n".join(cards)})
    return ids
