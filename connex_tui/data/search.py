"""The customer search index: one lower-cased text per customer, plus the warning flags.

Any service that changes a customer's contacts, auth entries, SIP users, DIDs or routes
calls `reindex(session, [customer_id])` in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from connex_tui.data.models import Contact, Customer, Did, IngressRoute, IpAuth, SipUser

_SOURCES = (
    (Contact.customer_id, Contact.email),
    (IpAuth.customer_id, IpAuth.host),
    (SipUser.customer_id, SipUser.username),
    (Did.customer_id, Did.number),
    (IngressRoute.customer_id, IngressRoute.tech_prefix),
)


def normalise(query: str) -> str:
    """Lower-case; a phone number typed as +44 20 7946 0000 is searched as 442079460000."""
    q = query.strip().lower()
    compact = q.replace(" ", "").replace("-", "")
    if compact.startswith("+") and compact[1:].isdigit():
        return compact[1:]
    return q


async def reindex(session: AsyncSession, customer_ids: Iterable[int]) -> None:
    ids = list(customer_ids)
    for start in range(0, len(ids), 500):
        await _reindex_chunk(session, ids[start:start + 500])


async def _reindex_chunk(session: AsyncSession, ids: list[int]) -> None:
    terms: dict[int, list[str]] = defaultdict(list)
    names = dict((await session.execute(
        select(Customer.id, Customer.name).where(Customer.id.in_(ids)))).all())
    for cid, name in names.items():
        terms[cid].append(name)
    for cust_col, value_col in _SOURCES:
        for cid, value in await session.execute(
                select(cust_col, value_col).where(cust_col.in_(ids))):
            if value:
                terms[cid].append(value)
    auth = {cid for (cid,) in await session.execute(
        select(IpAuth.customer_id).where(IpAuth.customer_id.in_(ids),
                                         IpAuth.direction == "ingress"))}
    auth |= {cid for (cid,) in await session.execute(
        select(SipUser.customer_id).where(SipUser.customer_id.in_(ids)))}
    routes = {cid for (cid,) in await session.execute(
        select(IngressRoute.customer_id).where(IngressRoute.customer_id.in_(ids),
                                               IngressRoute.enabled.is_(True)))}
    params = [{"cid": cid, "t": "\x1f".join(terms[cid]).lower(), "a": cid in auth,
               "r": cid in routes} for cid in names]
    if params:
        table = Customer.__table__  # Core executemany, not the ORM's bulk-by-PK path
        await session.execute(
            update(table).where(table.c.id == bindparam("cid"))
            .values(search_text=bindparam("t"), has_auth=bindparam("a"),
                    has_route=bindparam("r")), params)
