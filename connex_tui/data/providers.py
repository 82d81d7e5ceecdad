"""Providers (docs/domain.md §3): reads and validated writes. A provider's rate cards are in
data/rate_cards.py; a provider may not go while it has any."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from connex_tui.data.access import Actor, StaleError
from connex_tui.data.config_write import (
    ConfigWrites,
    check_unique,
    get_or_404,
    snapshot_of,
)
from connex_tui.data.db import Database
from connex_tui.data.models import Provider, RateCard
from connex_tui.engine.clock import Clock, utcnow
from connex_tui.engine.routing_validation import ProviderInput, validate_provider
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


async def provider_rows(s: AsyncSession) -> list[ProviderRow]:
    """Every provider in name order."""
    return [ProviderRow(p.id, p.version, p.name, p.status, p.host, p.channels, p.flow_speed)
            for p in await s.scalars(select(Provider).order_by(func.lower(Provider.name)))]


async def providers_by_name(s: AsyncSession) -> dict[str, Provider]:
    """Every provider by lower-case name (config apply matches names ignoring case)."""
    return {p.name.lower(): p for p in await s.scalars(select(Provider))}


async def add_provider(w: ConfigWrites, data: ProviderInput) -> int:
    await check_unique(w.s, Provider.name, data.name, None, field="name",
                       message="a provider with this name already exists")
    values = asdict(data)
    pid = await w.insert(Provider, values)
    await w.audit("create", "providers", pid, None, values)
    return pid


async def change_provider(w: ConfigWrites, current: Provider, data: ProviderInput) -> None:
    """Write `data` over `current` (as read: StaleError if saved since)."""
    await check_unique(w.s, Provider.name, data.name, current.id, field="name",
                       message="a provider with this name already exists")
    before = snapshot_of(current, PROVIDER_FIELDS)
    values = asdict(data)
    await w.update(Provider, current, values, "provider")
    await w.audit("update", "providers", current.id, before, values)


async def drop_provider(w: ConfigWrites, current: Provider) -> None:
    """Delete a provider; refused (ValidationError on name) while it has rate cards: they
    would go with it."""
    w.actor.require("delete")
    cards = int(await w.s.scalar(select(func.count()).select_from(RateCard)
                                 .where(RateCard.provider_id == current.id)) or 0)
    if cards:
        raise ValidationError({"name": f"has {cards} rate card{'s' * (cards != 1)}: "
                                       "delete those first"})
    before = snapshot_of(current, PROVIDER_FIELDS)
    await w.delete(Provider, current.id)
    await w.audit("delete", "providers", current.id, before, None)


class ProvidersService:
    def __init__(self, db: Database, actor: Actor, clock: Clock = utcnow):
        self.db = db
        self.actor = actor
        self.clock = clock


    async def providers(self) -> list[ProviderRow]:
        async with self.db.sessions() as s:
            return await provider_rows(s)

    async def create_provider(self, raw: dict) -> int:
        self.actor.require("write")
        data = validate_provider(raw)
        async with self.db.sessions() as s, s.begin():
            w = ConfigWrites(s, self.actor, self.clock())
            pid = await add_provider(w, data)
            await w.finish()
        return pid

    async def update_provider(self, provider_id: int, version: int, raw: dict) -> None:
        self.actor.require("write")
        data = validate_provider(raw)
        async with self.db.sessions() as s, s.begin():
            current = await get_or_404(s, Provider, provider_id, "provider")
            if current.version != version:
                raise StaleError("provider")
            w = ConfigWrites(s, self.actor, self.clock())
            await change_provider(w, current, data)
            await w.finish()

    async def delete_provider(self, provider_id: int) -> None:
        """Refused while the provider has rate cards (deleting it would take them along)."""
        self.actor.require("delete")
        async with self.db.sessions() as s, s.begin():
            w = ConfigWrites(s, self.actor, self.clock())
            await drop_provider(w, await get_or_404(s, Provider, provider_id, "provider"))
            await w.finish()
