"""Routing scripts (docs/domain.md §4): named rule lists routes refer to. Reads and validated
writes; a script may not go while routes use it."""

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
from connex_tui.data.models import IngressRoute, RoutingScript
from connex_tui.engine.clock import Clock, utcnow
from connex_tui.engine.routing_validation import ScriptInput, validate_script
from connex_tui.engine.validation import ValidationError

SCRIPT_FIELDS = ("name", "body")


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


async def script_rows(s: AsyncSession) -> list[ScriptRow]:
    """Every routing script in name order."""
    return [ScriptRow(r.id, r.version, r.name, r.body) for r in await s.scalars(
        select(RoutingScript).order_by(func.lower(RoutingScript.name)))]


async def scripts_by_name(s: AsyncSession) -> dict[str, RoutingScript]:
    return {r.name.lower(): r for r in await s.scalars(select(RoutingScript))}


async def add_script(w: ConfigWrites, data: ScriptInput) -> int:
    await check_unique(w.s, RoutingScript.name, data.name, None, field="name",
                       message="a script with this name already exists")
    values = asdict(data)
    script_id = await w.insert(RoutingScript, values)
    await w.audit("create", "routing_scripts", script_id, None, values)
    return script_id


async def change_script(w: ConfigWrites, current: RoutingScript, data: ScriptInput) -> None:
    await check_unique(w.s, RoutingScript.name, data.name, current.id, field="name",
                       message="a script with this name already exists")
    before = snapshot_of(current, SCRIPT_FIELDS)
    values = asdict(data)
    await w.update(RoutingScript, current, values, "script")
    await w.audit("update", "routing_scripts", current.id, before, values)


async def drop_script(w: ConfigWrites, current: RoutingScript) -> None:
    """Delete a script; ValidationError({"name": "used by N routes"}) while routes use it:
    dropping it silently would drop its rules (a reject, say) from live traffic."""
    w.actor.require("delete")
    used = int(await w.s.scalar(select(func.count()).select_from(IngressRoute)
                                .where(IngressRoute.script_id == current.id)) or 0)
    if used:
        raise ValidationError({"name": f"used by {_plural(used, 'route')}"})
    before = snapshot_of(current, SCRIPT_FIELDS)
    await w.delete(RoutingScript, current.id)
    await w.audit("delete", "routing_scripts", current.id, before, None)


class ScriptsService:
    def __init__(self, db: Database, actor: Actor, clock: Clock = utcnow):
        self.db = db
        self.actor = actor
        self.clock = clock


    async def scripts(self) -> list[ScriptRow]:
        async with self.db.sessions() as s:
            return await script_rows(s)

    async def create_script(self, raw: dict) -> int:
        self.actor.require("write")
        data = validate_script(raw)
        async with self.db.sessions() as s, s.begin():
            w = ConfigWrites(s, self.actor, self.clock())
            script_id = await add_script(w, data)
            await w.finish()
        return script_id

    async def update_script(self, script_id: int, version: int, raw: dict) -> None:
        self.actor.require("write")
        data = validate_script(raw)
        async with self.db.sessions() as s, s.begin():
            current = await get_or_404(s, RoutingScript, script_id, "script")
            if current.version != version:
                raise StaleError("script")
            w = ConfigWrites(s, self.actor, self.clock())
            await change_script(w, current, data)
            await w.finish()

    async def delete_script(self, script_id: int) -> None:
        """Refused while routes use it (see drop_script)."""
        self.actor.require("delete")
        async with self.db.sessions() as s, s.begin():
            w = ConfigWrites(s, self.actor, self.clock())
            await drop_script(w, await get_or_404(s, RoutingScript, script_id, "script"))
            await w.finish()
