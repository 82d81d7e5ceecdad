"""CDRs for the CDR tab and recalc tests: written through the CDR writer into sim_world's
Alice (route with card Retail: UK 0.010/min, London 0.008/min, 1/1, precision 4, rounding
up; provider Acme through UK-A 0.005/min)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from connex_tui.data.cdr_writer import CdrInput, write_batch
from tests.data import sim_world

DAY = datetime(2025, 3, 13, tzinfo=UTC)  # the day before sim_world.NOW


def call(ids: dict, n: int, *, at: datetime, seconds: float = 0, code: int = 200,
         dialled: str = "4412345678", charge: str = "1.0000", cost: str = "0.5000",
         release: str = "callee_bye", prefix: str = "44", sim: bool = False) -> CdrInput:
    answered = code == 200
    ms = int(seconds * 1000) if answered else 0
    return CdrInput(
        call_id=f"{'SIM-' if sim else ''}c{n:05d}", customer_id=ids["Alice"], started_at=at,
        ended_at=at + timedelta(milliseconds=ms + 3000), dialled=dialled, sip_code=code,
        answered_at=at + timedelta(seconds=3) if answered else None, duration_ms=ms,
        billed_s=-(-ms // 1000), cli_in="441000", cli_out="441000", prefix=prefix,
        destination="UK", rate=Decimal("0.5"), connect_fee=Decimal(0),
        charge=Decimal(charge) if answered else Decimal(0),
        provider_cost=Decimal(cost) if answered else Decimal(0),
        sip_reason="OK" if answered else "Busy Here", release_reason=release if answered
        else "", pdd_ms=900, source_ip="192.0.2.10", route_id=ids["route"],
        provider_id=ids["Acme"], simulated=sim)


async def write(db, cdrs: list[CdrInput]) -> None:
    async with db.sessions() as s, s.begin():
        await write_batch(s, cdrs, at=max(c.ended_at for c in cdrs))


async def world(db) -> dict[str, int]:
    """sim_world plus, on DAY: 12 answered calls of 9.1 s .. 64.1 s (charged 1.0000 each,
    wrongly), 3 of them at the same millisecond; 4 busy (486); one simulated."""
    ids = await sim_world.build(db)
    t = DAY + timedelta(hours=9)
    cdrs = [call(ids, i, at=t + timedelta(seconds=(i // 3) * 2 if i < 3 else i),
                 seconds=9.1 + 5 * i) for i in range(12)]
    cdrs += [call(ids, 100 + i, at=t + timedelta(minutes=5 + i), code=486) for i in range(4)]
    cdrs.append(call(ids, 900, at=t + timedelta(minutes=30), sim=True))
    await write(db, cdrs)
    return ids
