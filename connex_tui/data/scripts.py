"""Routing scripts (DOMAIN.md §4): named rule lists routes refer to. Reads and validated
writes; a script may not go while routes use it."""

from __future__ import annotations

from dataclasses import dataclass

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
from connex_tui.data.models import IngressRoute, RoutingScript
from connex_tui.engine.clock import Clock, utcnow
from connex_tui.engine.routing_validation import validate_script
from connex_tui.engine.validation import ValidationError


@dataclass(frozen=True, slots=True)
class ScriptRow:
    id: int
    version: int
    name: str
    body: str

    def form_values(self) -> dict[str, str | bool]:
        return {"name": self.name, "body": self.body}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


async def remove_script(s: AsyncSession, script_id: int) -> None:
    """Delete a script; ValidationError({"name": "used by N routes"}) while routes use it:
    dropping it silently would drop its rules (a reject, say) from live traffic."""
    used = int(await s.scalar(select(func.count()).select_from(IngressRoute)
                              .where(IngressRoute.script_id == script_id)) or 0)
    if used:
        raise ValidationError({"name": f"used by {_plural(used, 'route')}"})
    await s.execute(delete(RoutingScript).where(RoutingScript.id == script_id))

class ScriptsService:
    def __init__(self, db: Database, actor: Actor, clock: Clock = utcnow):
        self.db = db
        self.actor = actor
        self.clock = clock


    async def scripts(self) -> list[ScriptRow]:
        async with self.db.sessions() as s:
            found = await s.scalars(select(RoutingScript)
                                    .order_by(func.lower(RoutingScript.name)))
            return [ScriptRow(r.id, r.version, r.name, r.body) for r in found]

    async def create_script(self, raw: dict) -> int:
        self.actor.require("write")
        data = validate_script(raw)
        now = self.clock()
        async with self.db.sessions() as s, s.begin():
            await check_unique(s, RoutingScript.name, data.name, None, field="name",
                               message="a script with this name already exists")
            values = {"name": data.name, "body": data.body}
            script_id = await s.scalar(insert(RoutingScript).values(
                **values, version=1, created_at=now, updated_at=now)
                .returning(RoutingScript.id))
            await audit.record(s, self.actor, "create", "routing_scripts", script_id,
                               customer_id=None, before=None, after=values, at=now)
            await changed(s)
        return script_id

    async def update_script(self, script_id: int, version: int, raw: dict) -> None:
        self.actor.require("write")
        data = validate_script(raw)
        now = self.clock()
        async with self.db.sessions() as s, s.begin():
            current = await get_or_404(s, RoutingScript, script_id, "script")
            if current.version != version:
                raise StaleError("script")
            await check_unique(s, RoutingScript.name, data.name, script_id, field="name",
                               message="a script with this name already exists")
            before = snapshot_of(current, ("name", "body"))
            values = {"name": data.name, "body": data.body}
            await update_versioned(s, RoutingScript, script_id, version, values,
                                   what="script", now=now)
            await audit.record(s, self.actor, "update", "routing_scripts", script_id,
                               customer_id=None, before=before, after=values, at=now)
            await changed(s)

    async def delete_script(self, script_id: int) -> None:
        """Refused while routes use it (see remove_script)."""
        self.actor.require("delete")
        now = self.clock()
        async with self.db.sessions() as s, s.begin():
            current = await get_or_404(s, RoutingScript, script_id, "script")
            before = snapshot_of(current, ("name", "body"))
            await remove_script(s, script_id)
            await audit.record(s, self.actor, "delete", "routing_scripts", script_id,
                               customer_id=None, before=before, after=None, at=now)
            await changed(s)
