"""Pieces every routing-configuration service repeats: the optimistic-locked update, the
"configuration changed" step (generation bump, customer reindex), unique names, and the
text a form shows for a stored Decimal or time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from connex_tui.data import audit, config_state, search
from connex_tui.data.access import NotFound, StaleError
from connex_tui.data.models import CliRule, IngressRoute
from connex_tui.engine.present import plain_decimal as plain_decimal  # the services use it
from connex_tui.engine.regex_guard import check_slow_patterns, needs_slow_engine
from connex_tui.engine.validation import ValidationError


def moment_text(value: datetime | None) -> str:
    """A UTC time as ISO text (a bare date at midnight), as the validators read it back."""
    if value is None:
        return ""
    if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
        return value.date().isoformat()
    return value.isoformat().replace("+00:00", "Z")


async def changed(s: AsyncSession, customer_id: int | None = None) -> None:
    """The routing configuration changed (inside the writing transaction): bump the
    generation and, for a customer's own rows, rebuild its search text and flags."""
    await config_state.bump(s)
    if customer_id is not None:
        await search.reindex(s, [customer_id])


async def get_or_404(s: AsyncSession, model, row_id: int, what: str):
    row = await s.get(model, row_id)
    if row is None:
        raise NotFound(f"{what} {row_id} not found")
    return row


async def update_versioned(s: AsyncSession, model, row_id: int, version: int, values: dict,
                           *, what: str, now: datetime) -> None:
    """UPDATE ... WHERE version = read version; StaleError when another save came first."""
    res = await s.execute(
        update(model).where(model.id == row_id, model.version == version)
        .values(**values, version=model.version + 1, updated_at=now)
        .execution_options(synchronize_session=False))
    if res.rowcount != 1:
        raise StaleError(what)


async def check_unique(s: AsyncSession, column, value: str, own_id: int | None, *,
                       field: str, message: str, case_insensitive: bool = True) -> None:
    """Field error when another row already holds `value` (names compare ignoring case)."""
    model = column.class_
    stmt = select(model.id).where(
        func.lower(column) == value.lower() if case_insensitive else column == value)
    if own_id is not None:
        stmt = stmt.where(model.id != own_id)
    if await s.scalar(stmt.limit(1)) is not None:
        raise ValidationError({field: message})


def snapshot_of(row, names: tuple[str, ...]) -> dict:
    """The audited fields of an ORM row."""
    return {n: getattr(row, n) for n in names}


async def next_position(s: AsyncSession, model, customer_id: int) -> int:
    """The position after the customer's last row of `model` (routes, CLI rules)."""
    top = await s.scalar(select(func.max(model.position)).where(model.customer_id == customer_id))
    return 0 if top is None else int(top) + 1


async def check_slow_regexes(s: AsyncSession, customer_id: int, field: str, new: list[str],
                             *, rule_id: int = 0, route_id: int = 0) -> None:
    """Refuse a save that gives the customer more than regex_guard.MAX_SLOW_PER_CUSTOMER
    slow-engine patterns (CLI rules and dial-string lines; `new` replaces the rule or route
    being saved): each costs every call up to the call's regex budget. Asked only when the
    saved row has one."""
    if not any(needs_slow_engine(p) for p in new):
        return
    rules = await s.scalars(select(CliRule.cli).where(CliRule.customer_id == customer_id,
                                                      CliRule.id != rule_id))
    dials = await s.scalars(select(IngressRoute.dial_string).where(
        IngressRoute.customer_id == customer_id, IngressRoute.id != route_id))
    try:
        check_slow_patterns([*rules, *(line for d in dials for line in d.splitlines()), *new])
    except ValueError as exc:
        raise ValidationError({field: str(exc)}) from None


class ConfigWrites:
    """The routing-configuration writes of one transaction, as every writer composes them
    (the services one entity at a time, `config apply` a whole document): each entity
    operation writes and audits at once; `finish()` bumps the generation once and
    rebuilds the search text of the touched customers once."""

    def __init__(self, s: AsyncSession, actor, now: datetime):
        self.s = s
        self.actor = actor
        self.now = now
        self.dirty = False
        self.touched: set[int] = set()

    async def audit(self, action: str, table: str, row_id: int, before: dict | None,
                    after: dict | None, *, customer_id: int | None = None,
                    routing: bool = True) -> None:
        """Record the write; `routing=False` for a customer's own fields, which the
        routing decision rereads per call (no generation bump, no full reload)."""
        await audit.record(self.s, self.actor, action, table, row_id, customer_id=customer_id,
                           before=before, after=after, at=self.now)
        self.dirty = self.dirty or routing
        if customer_id is not None:
            self.touched.add(customer_id)

    async def insert(self, model, values: dict) -> int:
        return await self.s.scalar(insert(model).values(
            **values, version=1, created_at=self.now, updated_at=self.now)
            .returning(model.id))

    async def update(self, model, row, values: dict, what: str) -> None:
        """Over `row` as read (its version): StaleError when another save came first."""
        await update_versioned(self.s, model, row.id, row.version, values, what=what,
                               now=self.now)

    async def delete(self, model, row_id: int) -> None:
        self.actor.require("delete")
        await self.s.execute(delete(model).where(model.id == row_id))

    async def finish(self) -> None:
        if self.dirty:
            await config_state.bump(self.s)
        if self.touched:
            await search.reindex(self.s, sorted(self.touched))
