"""A customer's CLI rules (docs/domain.md §5), tried in order: reads and validated writes.
The module functions taking a session hold the rules; CliRulesService and `config apply`
both call them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from connex_tui.data import audit
from connex_tui.data.access import Actor, StaleError
from connex_tui.data.config_write import (
    ConfigWrites,
    changed,
    check_slow_regexes,
    get_or_404,
    next_position,
    snapshot_of,
    update_versioned,
)
from connex_tui.data.db import Database
from connex_tui.data.models import CliRule, Customer
from connex_tui.engine.clock import Clock, utcnow
from connex_tui.engine.routing_validation import validate_cli_rule

CLI_FIELDS = ("cli", "rewrite_cli", "p_asserted_id", "forced", "position")


@dataclass(frozen=True, slots=True)
class CliRuleRow:
    id: int
    version: int
    customer_id: int
    cli: str
    rewrite_cli: str
    p_asserted_id: str
    forced: bool
    position: int

    def form_values(self) -> dict[str, str | bool]:
        return {"cli": self.cli, "rewrite_cli": self.rewrite_cli,
                "p_asserted_id": self.p_asserted_id, "forced": self.forced,
                "position": str(self.position)}


async def _place_cli_rule(s: AsyncSession, customer_id: int, rule_id: int,
                          order: int) -> int:
    """Move a rule to `order` (1 = tried first; clamped) and number the customer's rules
    1..n, so that the order an operator types is the order the engine tries them in (equal
    positions would otherwise fall back to creation order). Returns the rule's order."""
    ids = [i for i in await s.scalars(
        select(CliRule.id).where(CliRule.customer_id == customer_id)
        .order_by(CliRule.position, CliRule.id)) if i != rule_id]
    order = min(max(order, 1), len(ids) + 1)
    ids.insert(order - 1, rule_id)
    for n, i in enumerate(ids, 1):
        await s.execute(update(CliRule).where(CliRule.id == i, CliRule.position != n)
                        .values(position=n).execution_options(synchronize_session=False))
    return order


async def cli_rules_of(s: AsyncSession, customer_ids: list[int]) -> dict[int, list[CliRule]]:
    """The customers' rules in the order the engine tries them, by customer."""
    out: dict[int, list[CliRule]] = {}
    for chunk in (customer_ids[i:i + 500] for i in range(0, len(customer_ids), 500)):
        for r in await s.scalars(select(CliRule).where(CliRule.customer_id.in_(chunk))
                                 .order_by(CliRule.position, CliRule.id)):
            out.setdefault(r.customer_id, []).append(r)
    return out


async def add_cli_rule(w: ConfigWrites, customer_id: int, values: dict) -> int:
    """A rule with its CLI_FIELDS values, position included, as given."""
    rule_id = await w.insert(CliRule, {"customer_id": customer_id, **values})
    await w.audit("create", "cli_rules", rule_id, None, values, customer_id=customer_id)
    return rule_id


async def change_cli_rule(w: ConfigWrites, current: CliRule, values: dict) -> None:
    before = snapshot_of(current, CLI_FIELDS)
    await w.update(CliRule, current, values, "CLI rule")
    await w.audit("update", "cli_rules", current.id, before, {**before, **values},
                  customer_id=current.customer_id)


async def drop_cli_rule(w: ConfigWrites, current: CliRule) -> None:
    before = snapshot_of(current, CLI_FIELDS)
    await w.delete(CliRule, current.id)
    await w.audit("delete", "cli_rules", current.id, before, None,
                  customer_id=current.customer_id)


class CliRulesService:
    def __init__(self, db: Database, actor: Actor, clock: Clock = utcnow):
        self.db = db
        self.actor = actor
        self.clock = clock


    async def cli_rules(self, customer_id: int) -> list[CliRuleRow]:
        async with self.db.sessions() as s:
            found = await s.scalars(select(CliRule).where(CliRule.customer_id == customer_id)
                                    .order_by(CliRule.position, CliRule.id))
            # position here is the rule's order as the engine tries it (1 = first), which is
            # what the form edits; stored positions may have gaps or ties from older data
            return [CliRuleRow(r.id, r.version, r.customer_id, r.cli, r.rewrite_cli,
                               r.p_asserted_id, r.forced, order)
                    for order, r in enumerate(found, 1)]

    async def create_cli_rule(self, customer_id: int, raw: dict) -> int:
        """A rule goes last unless the input gives a position."""
        self.actor.require("write")
        data = validate_cli_rule(raw)
        now = self.clock()
        async with self.db.sessions() as s, s.begin():
            await get_or_404(s, Customer, customer_id, "customer")
            await check_slow_regexes(s, customer_id, "cli", [data.cli])
            position = await next_position(s, CliRule, customer_id)
            values = {f: getattr(data, f) for f in CLI_FIELDS} | {"position": position}
            rule_id = await s.scalar(insert(CliRule).values(
                customer_id=customer_id, **values, version=1, created_at=now,
                updated_at=now).returning(CliRule.id))
            if data.position is not None:
                values["position"] = await _place_cli_rule(s, customer_id, rule_id,
                                                           data.position)
            await audit.record(s, self.actor, "create", "cli_rules", rule_id,
                               customer_id=customer_id, before=None, after=values, at=now)
            await changed(s)
        return rule_id

    async def update_cli_rule(self, rule_id: int, version: int, raw: dict) -> None:
        self.actor.require("write")
        data = validate_cli_rule(raw)
        now = self.clock()
        async with self.db.sessions() as s, s.begin():
            current = await get_or_404(s, CliRule, rule_id, "CLI rule")
            if current.version != version:
                raise StaleError("CLI rule")
            await check_slow_regexes(s, current.customer_id, "cli", [data.cli],
                                     rule_id=rule_id)
            before = snapshot_of(current, CLI_FIELDS)
            values = {f: getattr(data, f) for f in CLI_FIELDS}
            values["position"] = current.position
            await update_versioned(s, CliRule, rule_id, version, values, what="CLI rule",
                                   now=now)
            if data.position is not None:
                values["position"] = await _place_cli_rule(s, current.customer_id, rule_id,
                                                           data.position)
            await audit.record(s, self.actor, "update", "cli_rules", rule_id,
                               customer_id=current.customer_id, before=before, after=values,
                               at=now)
            await changed(s)

    async def delete_cli_rule(self, rule_id: int) -> None:
        self.actor.require("delete")
        async with self.db.sessions() as s, s.begin():
            w = ConfigWrites(s, self.actor, self.clock())
            await drop_cli_rule(w, await get_or_404(s, CliRule, rule_id, "CLI rule"))
            await w.finish()
