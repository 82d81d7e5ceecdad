"""Customers aggregate (docs/domain.md §1): paged list, detail, create/update/archive/erase."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import delete, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from connex_tui.data import audit, config_state, search
from connex_tui.data.access import Actor, NotFound, StaleError
from connex_tui.data.config_write import ConfigWrites
from connex_tui.data.db import Database
from connex_tui.data.models import Alert, Cdr, Customer, Dialog, LedgerEntry, Payment, StatsRollup
from connex_tui.engine.clock import Clock, utcnow
from connex_tui.engine.money import available_credit
from connex_tui.engine.present import plain_decimal
from connex_tui.engine.stats import Kpi
from connex_tui.engine.validation import CustomerInput, ValidationError, validate_customer

STATUS_FILTERS = ("all", "active", "inactive", "pending_approval", "penalty", "archived")
FILTER_LABELS = {"all": "All", "active": "Active", "inactive": "Inactive",
                 "pending_approval": "Pending Approval", "penalty": "Penalty",
                 "archived": "Archived"}
INPUT_FIELDS = tuple(f.name for f in fields(CustomerInput))


@dataclass(frozen=True, slots=True)
class CustomerListRow:
    id: int
    name: str
    status: str
    archived: bool
    currency: str
    balance: Decimal
    debit_limit: Decimal
    channels: int
    live_channels: int
    last_call_at: datetime | None
    kpi: Kpi
    has_auth: bool
    has_route: bool
    alerted: bool = False  # an alert of it has fired or holds it in penalty (§10)

    @property
    def available(self) -> Decimal:
        return available_credit(self.balance, self.debit_limit)

    @property
    def warning(self) -> str:
        missing = [w for w, ok in (("no auth", self.has_auth), ("no route", self.has_route))
                   if not ok]
        return ", ".join(missing)


@dataclass(frozen=True, slots=True)
class CustomerPage:
    rows: tuple[CustomerListRow, ...]
    total: int
    offset: int


@dataclass(frozen=True, slots=True)
class CustomerDetail:
    id: int
    version: int
    name: str
    status: str
    paypal_email: str
    website: str
    debit_limit: Decimal
    tax_percent: Decimal
    currency: str
    portal_access: bool
    channels: int
    flow_speed: int
    address: str
    notes_public: str
    notes_private: str
    balance: Decimal
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime
    last_call_at: datetime | None
    live_channels: int
    has_auth: bool
    has_route: bool

    @property
    def available(self) -> Decimal:
        return available_credit(self.balance, self.debit_limit)

    def form_values(self) -> dict[str, str | bool]:
        """The raw values an edit form starts from (what validate_customer accepts)."""
        out: dict[str, str | bool] = {}
        for name in INPUT_FIELDS:
            value = getattr(self, name)
            out[name] = value if isinstance(value, bool) else str(value)
        out["debit_limit"] = plain_decimal(self.debit_limit)
        out["tax_percent"] = plain_decimal(self.tax_percent)
        return out


def _check_filter(status: str) -> None:
    if status not in STATUS_FILTERS:
        raise ValueError(f"unknown status filter {status!r}")


def _apply_filters(stmt, status: str, query: str):
    if status == "archived":
        stmt = stmt.where(Customer.archived_at.is_not(None))
    else:
        stmt = stmt.where(Customer.archived_at.is_(None))
        if status != "all":
            stmt = stmt.where(Customer.status == status)
    q = search.normalise(query)
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(Customer.search_text.like(f"%{escaped}%", escape="\\"))
    return stmt


# Session-level writes: CustomerService and `config apply` both call these.
def check_currency_change(current: Customer, data: CustomerInput) -> None:
    """A customer's currency is fixed: its balance, ledger and CDRs are in it."""
    if data.currency != current.currency:
        raise ValidationError({"currency": "cannot change after creation (the customer "
                                           f"bills in {current.currency})"})


async def _check_name(s: AsyncSession, name: str, own_id: int | None) -> None:
    stmt = select(Customer.id).where(Customer.name_key == name.lower())
    if own_id is not None:
        stmt = stmt.where(Customer.id != own_id)
    if await s.scalar(stmt) is not None:
        raise ValidationError({"name": "a customer with this name already exists"})


async def insert_customer(s: AsyncSession, data: CustomerInput, now: datetime) -> int:
    """A new customer (balance 0) from validated input; ValidationError if the name is
    taken."""
    await _check_name(s, data.name, None)
    try:
        return await s.scalar(insert(Customer).values(
            **asdict(data), name_key=data.name.lower(), version=1, created_at=now,
            updated_at=now, balance=Decimal(0)).returning(Customer.id))
    except IntegrityError:
        raise ValidationError({"name": "a customer with this name already exists"}) from None


async def update_customer(s: AsyncSession, current: Customer, version: int,
                          data: CustomerInput, now: datetime) -> None:
    """Write validated input over `current`, read at `version`: the currency stays, the
    name stays unique, StaleError if someone saved in between."""
    check_currency_change(current, data)
    if current.version != version:
        raise StaleError("customer")
    await _check_name(s, data.name, current.id)
    try:
        res = await s.execute(
            update(Customer).where(Customer.id == current.id, Customer.version == version)
            .values(**asdict(data), name_key=data.name.lower(), version=Customer.version + 1,
                    updated_at=now).execution_options(synchronize_session=False))
    except IntegrityError:  # another operator took the name a moment ago
        raise ValidationError({"name": "a customer with this name already exists"}) from None
    if res.rowcount != 1:
        raise StaleError("customer")


async def customers_named(s: AsyncSession, names: list[str]) -> dict[str, Customer]:
    """Customers (archived too) by lower-case name."""
    keys = sorted({n.lower() for n in names})
    out: dict[str, Customer] = {}
    for chunk in (keys[i:i + 500] for i in range(0, len(keys), 500)):
        out |= {c.name_key: c for c in await s.scalars(
            select(Customer).where(Customer.name_key.in_(chunk)))}
    return out


async def unarchived_customers(s: AsyncSession) -> list[Customer]:
    """Every customer not archived, in name order (the configuration export)."""
    return list(await s.scalars(select(Customer).where(Customer.archived_at.is_(None))
                                .order_by(Customer.name_key)))


async def customer_by_id(s: AsyncSession, customer_id: int) -> Customer | None:
    return await s.get(Customer, customer_id)


async def add_customer(w: ConfigWrites, data: CustomerInput) -> int:
    """insert_customer, audited, within a ConfigWrites."""
    cid = await insert_customer(w.s, data, w.now)
    await w.audit("create", "customers", cid, None, asdict(data), customer_id=cid,
                  routing=False)
    return cid


async def change_customer(w: ConfigWrites, current: Customer, data: CustomerInput) -> None:
    """update_customer over `current` as read, audited, within a ConfigWrites."""
    before = {k: getattr(current, k) for k in CustomerInput.__dataclass_fields__}
    await update_customer(w.s, current, current.version, data, w.now)
    await w.audit("update", "customers", current.id, before, asdict(data),
                  customer_id=current.id, routing=False)


class CustomerService:
    def __init__(self, db: Database, actor: Actor, clock: Clock = utcnow):
        self.db = db
        self.actor = actor
        self.clock = clock

    # -- reading ------------------------------------------------------------------------
    async def page(self, status: str = "all", query: str = "", offset: int = 0,
                   limit: int = 200) -> CustomerPage:
        """One page of the list plus the number of matches."""
        rows = await self.rows(status, query, offset, limit)
        if offset == 0 and len(rows) < limit:
            total = len(rows)  # the page holds every match: no count query needed
        else:
            total = await self.count(status, query)
        return CustomerPage(rows, total, offset)

    async def count(self, status: str = "all", query: str = "") -> int:
        _check_filter(status)
        async with self.db.sessions() as s:
            stmt = _apply_filters(select(func.count()).select_from(Customer), status, query)
            return int(await s.scalar(stmt) or 0)

    async def rows(self, status: str = "all", query: str = "", offset: int = 0,
                   limit: int = 200, after: str | None = None) -> tuple[CustomerListRow, ...]:
        """Rows of one page in name order (the list shows these before the count arrives).
        `after` (the last name shown) pages by key, so rows others add or remove meanwhile
        neither repeat nor vanish."""
        _check_filter(status)
        cols = (Customer.id, Customer.name, Customer.status, Customer.archived_at,
                Customer.currency, Customer.balance, Customer.debit_limit,
                Customer.channels, Customer.last_call_at, Customer.has_auth,
                Customer.has_route)
        stmt = _apply_filters(select(*cols), status, query)
        if after is not None:
            stmt = stmt.where(Customer.name_key > after.lower())
        stmt = stmt.order_by(Customer.name_key).offset(offset).limit(limit)
        async with self.db.sessions() as s:
            found = (await s.execute(stmt)).all()
            ids = [r.id for r in found]
            kpis = await self._kpis_24h(s, ids)
            live = await self._live_channels(s, ids)
            alerted = await self._alerted(s, ids)
        return tuple(CustomerListRow(
            r.id, r.name, r.status, r.archived_at is not None, r.currency, r.balance,
            r.debit_limit, r.channels, live.get(r.id, 0), r.last_call_at,
            kpis.get(r.id, Kpi()), r.has_auth, r.has_route, r.id in alerted) for r in found)

    async def _alerted(self, s: AsyncSession, ids: list[int]) -> set[int]:
        """Of the page's customers, those with an alert fired or in penalty (one query on
        the alerts' customer index)."""
        if not ids:
            return set()
        return set(await s.scalars(select(Alert.customer_id).where(
            Alert.customer_id.in_(ids), Alert.state.in_(("fired", "penalty"))).distinct()))

    async def _kpis_24h(self, s: AsyncSession, ids: list[int]) -> dict[int, Kpi]:
        if not ids:
            return {}
        # Whole hours from hour rows; the part-hour at the far edge from minute rows.
        since = (self.clock() - timedelta(hours=24)).replace(second=0, microsecond=0)
        first_hour = since.replace(minute=0)
        if first_hour < since:
            first_hour += timedelta(hours=1)
        r = StatsRollup
        cols = (r.customer_id, func.sum(r.attempts), func.sum(r.connected),
                func.sum(r.duration_ms), func.sum(r.pdd_sum_ms), func.sum(r.pdd_count),
                func.max(r.peak_cps))
        hours = (select(*cols).where(r.customer_id.in_(ids), r.grain == "h",
                                     r.bucket >= first_hour).group_by(r.customer_id))
        edge = (select(*cols).where(r.customer_id.in_(ids), r.grain == "m", r.bucket >= since,
                                    r.bucket < first_hour).group_by(r.customer_id))
        out: dict[int, Kpi] = {}
        for stmt in (hours, edge):
            for cid, a, c, d, ps, pc, cps in await s.execute(stmt):
                k = out.get(cid, Kpi())
                out[cid] = Kpi(k.attempts + int(a or 0), k.connected + int(c or 0),
                               k.duration_ms + int(d or 0), k.pdd_sum_ms + int(ps or 0),
                               k.pdd_count + int(pc or 0), max(k.peak_cps, int(cps or 0)))
        return out

    async def _live_channels(self, s: AsyncSession, ids: list[int]) -> dict[int, int]:
        if not ids:
            return {}
        stmt = (select(Dialog.customer_id, func.count()).where(Dialog.customer_id.in_(ids))
                .group_by(Dialog.customer_id))
        return dict((await s.execute(stmt)).all())

    async def get(self, customer_id: int) -> CustomerDetail:
        async with self.db.sessions() as s:
            c = await s.get(Customer, customer_id)
            if c is None:
                raise NotFound(f"customer {customer_id} not found")
            live = await self._live_channels(s, [customer_id])
            return CustomerDetail(
                c.id, c.version, c.name, c.status, c.paypal_email, c.website, c.debit_limit,
                c.tax_percent, c.currency, c.portal_access, c.channels, c.flow_speed, c.address,
                c.notes_public, c.notes_private, c.balance, c.archived_at, c.created_at,
                c.updated_at, c.last_call_at, live.get(c.id, 0), c.has_auth, c.has_route)

    async def find(self, query: str, limit: int = 20) -> list[tuple[int, str, bool]]:
        """(id, name, archived) of customers, archived ones too, whose searchable text
        matches: for 'go to customer'."""
        async with self.db.sessions() as s:
            live = _apply_filters(select(Customer.id, Customer.name, Customer.archived_at),
                                  "all", query).order_by(Customer.name_key).limit(limit)
            found = [(r.id, r.name, False) for r in await s.execute(live)]
            if len(found) < limit:
                gone = _apply_filters(select(Customer.id, Customer.name), "archived", query)
                found += [(r.id, r.name, True) for r in await s.execute(
                    gone.order_by(Customer.name_key).limit(limit - len(found)))]
            return found

    async def audit(self, customer_id: int, limit: int = 100) -> list[audit.AuditRow]:
        async with self.db.sessions() as s:
            return await audit.for_customer(s, customer_id, limit)

    # -- writing ------------------------------------------------------------------------
    async def create(self, raw: dict) -> int:
        self.actor.require("write")
        data = validate_customer(raw)
        async with self.db.sessions() as s, s.begin():
            w = ConfigWrites(s, self.actor, self.clock())
            cid = await add_customer(w, data)
            await w.finish()
        return cid

    async def update(self, customer_id: int, version: int, raw: dict) -> None:
        """Save an edit read at `version`; StaleError if someone saved in between."""
        self.actor.require("write")
        data = validate_customer(raw)
        async with self.db.sessions() as s, s.begin():
            current = await s.get(Customer, customer_id)
            if current is None:
                raise NotFound(f"customer {customer_id} not found")
            check_currency_change(current, data)
            if current.version != version:
                raise StaleError("customer")
            w = ConfigWrites(s, self.actor, self.clock())
            await change_customer(w, current, data)
            await w.finish()

    async def delete_mode(self, customer_id: int) -> str:
        """'archive' when the customer has CDRs, payments or ledger entries, else 'erase'."""
        async with self.db.sessions() as s:
            return await self._delete_mode(s, customer_id)

    async def _delete_mode(self, s: AsyncSession, customer_id: int) -> str:
        for model in (Cdr, Payment, LedgerEntry):
            if await s.scalar(select(exists().where(model.customer_id == customer_id))):
                return "archive"
        return "erase"

    async def delete(self, customer_id: int) -> str:
        """Archive or erase (as delete_mode says). Returns what was done."""
        self.actor.require("delete")
        now = self.clock()
        async with self.db.sessions() as s, s.begin():
            current = await s.get(Customer, customer_id)
            if current is None:
                raise NotFound(f"customer {customer_id} not found")
            before = {k: getattr(current, k) for k in INPUT_FIELDS}
            mode = await self._delete_mode(s, customer_id)
            if mode == "archive":
                await s.execute(update(Customer).where(Customer.id == customer_id)
                                .values(archived_at=now, version=Customer.version + 1,
                                        updated_at=now)
                                .execution_options(synchronize_session=False))
                after = {**before, "archived_at": now}
                before["archived_at"] = None
            else:
                try:
                    await s.execute(delete(Customer).where(Customer.id == customer_id)
                                    .execution_options(synchronize_session=False))
                except IntegrityError:  # a CDR or payment arrived since the check
                    raise StaleError("customer") from None
                after = None
            # archive/erase take the customer's auth entries and routes out of the routing
            # snapshot (create and edit need no bump: the snapshot rereads the customer's
            # row before each decision, and a new customer has no auth yet)
            await config_state.bump(s)
            await audit.record(s, self.actor, mode, "customers", customer_id,
                               customer_id=customer_id, before=before, after=after, at=now)
        return mode

    async def restore(self, customer_id: int) -> None:
        """Bring an archived customer back to the list."""
        self.actor.require("write")
        now = self.clock()
        async with self.db.sessions() as s, s.begin():
            res = await s.execute(update(Customer).where(
                Customer.id == customer_id, Customer.archived_at.is_not(None))
                .values(archived_at=None, version=Customer.version + 1, updated_at=now)
                .execution_options(synchronize_session=False))
            if res.rowcount != 1:
                raise NotFound(f"archived customer {customer_id} not found")
            await config_state.bump(s)
            await audit.record(s, self.actor, "restore", "customers", customer_id,
                               customer_id=customer_id, before={"archived": True},
                               after={"archived": False}, at=now)
