"""Audit rows for every write: who, when, what, and before/after of changed fields."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from connex_tui.data.access import Actor
from connex_tui.data.models import AuditEntry

SECRET_MARKERS = ("password", "secret", "ha1", "hash", "token")
MASK = "••••••"


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def diff(before: dict | None, after: dict | None) -> dict[str, list]:
    """{field: [before, after]} for fields that differ, secrets masked."""
    before, after = before or {}, after or {}
    out: dict[str, list] = {}
    for key in sorted(set(before) | set(after)):
        if key in ("version", "created_at", "updated_at", "search_text", "name_key"):
            continue
        b, a = before.get(key), after.get(key)
        if b == a:
            continue
        if any(m in key for m in SECRET_MARKERS):
            b, a = (MASK if b else None), (MASK if a else None)
        out[key] = [_plain(b), _plain(a)]
    return out


async def record(session: AsyncSession, actor: Actor, action: str, table: str, row_id: int | None,
                 *, customer_id: int | None, before: dict | None, after: dict | None,
                 at: datetime) -> None:
    await session.execute(insert(AuditEntry).values(
        at=at, operator=actor.name, action=action, table_name=table, row_id=row_id,
        customer_id=customer_id, changes=json.dumps(diff(before, after), ensure_ascii=False)))


@dataclass(frozen=True, slots=True)
class AuditRow:
    at: datetime
    operator: str
    action: str
    table: str
    row_id: int | None
    changes: dict


async def for_customer(session: AsyncSession, customer_id: int, limit: int = 100) -> list[AuditRow]:
    rows = await session.execute(
        select(AuditEntry).where(AuditEntry.customer_id == customer_id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit))
    return [AuditRow(r.at, r.operator, r.action, r.table_name, r.row_id, json.loads(r.changes))
            for r in rows.scalars()]
