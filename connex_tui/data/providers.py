"""Providers (DOMAIN.md §3): reads and validated writes. A provider's rate cards are in
data/rate_cards.py; a provider may not go while it has any."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from connex_tui.data import audit
from connex_tui.data.access import Actor, StaleError
from connex_tui.data.config_write import (
    changed,
    check_unique,
    get_or_404,
    snapshot_of,
    update_versioned,
)
from connex_tui.data.db import Database
from connex_tui.data.models import Provider, RateCard
from connex_tui.engine.clock import Clock, utcnow
from connex_tui.engine.routing_validation import validate_provider
from connex_tui.engine.validation import ValidationError

PROVIDER_FIELDS = ("name", "status", "host", "channels", "flow_speed")


@dataclass(frozen=True, slots=True)
class ProviderRow:
    id: int
    version: int
    name: str
    status: str
    host: str
    channels: int
    flow_speed: int

    def form_values(self) -> dict[str, str | bool]:
        return {"name": self.name, "status": self.status, "host": self.host,
                "channels": str(self.channels), "flow_speed": str(self.flow_speed)}


async def remove_provider(s: AsyncSession, provider_id: int) -> None:
    """Delete a provider; refused while it has rate cards (they would go with it)."""
    cards = int(await s.scalar(select(func.count()).select_from(RateCard)
                               .where(RateCard.provider_id == provider_id)) or 0)
    if cards:
        raise ValidationError({"name": f"has {cards} rate card{'s' * (cards != 1)}: "
                                       "delete those first"})
    await s.execute(delete(Provider).where(Provider.id == provider_id))


class ProvidersService:
    def __init__(self, db: Database, actor: Actor, clock: Clock = utcnow):
        self.db = db
        self.actor = actor
        self.clock = clock


    async def providers(self) -> list[ProviderRow]:
        async with self.db.sessions() as s:
            found = await s.scalars(select(Provider).order_by(func.lower(Provider.name)))
            return [ProviderRow(p.id, p.version, p.name, p.status, p.host, p.channels,
                                p.flow_speed) for p in found]

    async def create_provider(self, raw: dict) -> int:
        self.actor.require("write")
        data = validate_provider(raw)
        now = self.clock()
        async with self.db.sessions() as s, s.begin():
            await check_unique(s, Provider.name, data.name, None, field="name",
                               message="a provider with this name already exists")
            values = asdict(data)
            pid = await s.scalar(insert(Provider).values(
                **values, version=1, created_at=now, updated_at=now).returning(Provider.id))
            await audit.record(s, self.actor, "create", "providers", pid, customer_id=None,
                               before=None, after=values, at=now)
            await changed(s)
        return pid

    async def update_provider(self, provider_id: int, version: int, raw: dict) -> None:
        self.actor.require("write")
        data = validate_provider(raw)
        now = self.clock()
        async with self.db.sessions() as s, s.begin():
            current = await get_or_404(s, Provider, provider_id, "provider")
            if current.version != version:
                raise StaleError("provider")
            await check_unique(s, Provider.name, data.name, provider_id, field="name",
                               message="a provider with this name already exists")
            before = snapshot_of(current, PROVIDER_FIELDS)
            values = asdict(data)
            await update_versioned(s, Provider, provider_id, version, values, what="provider",
                                   now=now)
            await audit.record(s, self.actor, "update", "providers", provider_id,
                               customer_id=None, before=before, after=values, at=now)
            await changed(s)

    async def delete_provider(self, provider_id: int) -> None:
        """Refused while the provider has rate cards (deleting it would take them along)."""
        self.actor.require("delete")
        now = self.clock()
        async with self.db.sessions() as s, s.begin():
            current = await get_or_404(s, Provider, provider_id, "provider")
            before = snapshot_of(current, PROVIDER_FIELDS)
            await remove_provider(s, provider_id)
            await audit.record(s, self.actor, "delete", "providers", provider_id,
                               customer_id=None, before=before, after=None, at=now)
            await changed(s)
