"""A customer's authentication (docs/domain.md §6): IP-auth entries and SIP users.

Every write bumps the configuration generation and reindexes the customer (search text and
the has_auth flag). SIP passwords are stored as argon2 hash + HA1 only; the clear password
is returned once to the caller to show, and never kept.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from connex_tui.data import passwords
from connex_tui.data.access import Actor, StaleError
from connex_tui.data.config_write import (
    ConfigWrites,
    check_unique,
    get_or_404,
    snapshot_of,
)
from connex_tui.data.db import Database
from connex_tui.data.models import Customer, IngressRoute, IpAuth, SipUser
from connex_tui.engine.auth_validation import hosts_overlap, wide_network
from connex_tui.engine.clock import Clock, utcnow
from connex_tui.engine.routing_validation import (
    IpAuthInput,
    validate_ip_auth,
    validate_sip_user,
)
from connex_tui.engine.validation import ValidationError

IP_FIELDS = tuple(IpAuthInput.__dataclass_fields__)
SIP_FIELDS = ("username", "channels", "flow_speed", "ip_whitelist")
USERNAME_TAKEN = "this username is taken (usernames are unique across all customers)"


@dataclass(frozen=True, slots=True)
class IpAuthRow:
    id: int
    version: int
    customer_id: int
    host: str
    direction: str
    channels: int
    flow_speed: int
    codecs: str
    manufacturer: str
    sw_version: str
    protocol: str
    port: int
    dial_pattern: str
    cli_prefix: str
    tech_prefix: str
    strip_digits: int
    bandwidth: int
    force_from: str

    def form_values(self) -> dict[str, str | bool]:
        return {f: str(getattr(self, f)) for f in IP_FIELDS}


@dataclass(frozen=True, slots=True)
class SipUserRow:
    id: int
    version: int
    customer_id: int
    username: str
    channels: int
    flow_speed: int
    ip_whitelist: str

    def form_values(self) -> dict[str, str | bool]:
        """Password empty (= keep) and generate off: the secret is never read back."""
        return {"username": self.username, "password": "", "generate": False,
                "channels": str(self.channels), "flow_speed": str(self.flow_speed),
                "ip_whitelist": self.ip_whitelist}


def _overlap(a: str, b: str) -> bool:
    return a.startswith(b) or b.startswith(a)


async def _sharers(s: AsyncSession, customer_id: int, host: str
                   ) -> tuple[dict[int, str], dict[int, set[str]]]:
    """Other customers on ingress `host` (id -> name), and the non-empty route tech
    prefixes of them and of `customer_id`."""
    others = dict((await s.execute(
        select(Customer.id, Customer.name).join(IpAuth, IpAuth.customer_id == Customer.id)
        .where(IpAuth.host == host, IpAuth.direction == "ingress",
               IpAuth.customer_id != customer_id))).all())
    prefixes: dict[int, set[str]] = {cid: set() for cid in (*others, customer_id)}
    if others:
        for cid, prefix in await s.execute(
                select(IngressRoute.customer_id, IngressRoute.tech_prefix)
                .where(IngressRoute.customer_id.in_(list(prefixes)),
                       IngressRoute.tech_prefix != "")):
            prefixes[cid].add(prefix)
    return others, prefixes


def _clash(prefix: str, host: str, others: dict[int, str],
           prefixes: dict[int, set[str]]) -> str | None:
    for cid, name in sorted(others.items(), key=lambda kv: kv[1]):
        for theirs in sorted(prefixes[cid]):
            if _overlap(prefix, theirs):
                return (f"tech prefix {prefix} overlaps {theirs} of {name}, which shares "
                        f"ingress IP {host}: calls from it could not be told apart")
    return None


async def shared_host_problem(s: AsyncSession, customer_id: int, host: str) -> str | None:
    """Why `customer_id` may not add ingress `host` (None if it may).

    Calls from an IP that several customers share are told apart by the non-empty tech
    prefixes of their routes (§4.1 step 1), so sharing is allowed only when every customer
    on the host has a route with a tech prefix and no two customers' prefixes overlap (one
    starting the other): every dialled number then belongs to at most one of them."""
    others, prefixes = await _sharers(s, customer_id, host)
    if not others:
        return None
    shared = f"{host} is also used by {', '.join(sorted(others.values()))}"
    if not prefixes[customer_id]:
        return (f"{shared}: a shared IP needs routes with tech prefixes to tell customers "
                "apart, and this customer has none")
    for cid, name in sorted(others.items(), key=lambda kv: kv[1]):
        if not prefixes[cid]:
            return (f"{shared}: a shared IP needs routes with tech prefixes to tell "
                    f"customers apart, and {name} has none")
    for mine in sorted(prefixes[customer_id]):
        problem = _clash(mine, host, others, prefixes)
        if problem:
            return problem
    return None


async def tech_prefix_clash(s: AsyncSession, customer_id: int, prefix: str) -> str | None:
    """Why a route of `customer_id` may not take tech prefix `prefix`: it overlaps one of
    another customer that shares an ingress IP with this one."""
    if not prefix:
        return None
    hosts = set(await s.scalars(select(IpAuth.host).where(
        IpAuth.customer_id == customer_id, IpAuth.direction == "ingress")))
    for host in sorted(hosts):
        others, prefixes = await _sharers(s, customer_id, host)
        problem = _clash(prefix, host, others, prefixes)
        if problem:
            return problem
    return None


async def check_host(s: AsyncSession, customer_id: int, data: IpAuthInput,
                     own_id: int | None) -> None:
    """An entry's host and direction are unique within the customer, and an ingress host
    shared with other customers must pass shared_host_problem."""
    stmt = select(IpAuth.id).where(IpAuth.customer_id == customer_id,
                                   IpAuth.host == data.host,
                                   IpAuth.direction == data.direction)
    if own_id is not None:
        stmt = stmt.where(IpAuth.id != own_id)
    if await s.scalar(stmt.limit(1)) is not None:
        raise ValidationError({"host": f"this customer already has {data.direction} "
                                       f"{data.host}"})
    if data.direction == "ingress":
        problem = await shared_host_problem(s, customer_id, data.host)
        if problem:
            raise ValidationError({"host": problem})


class NeedsConfirmation(Exception):
    """A valid write the operator must confirm first (nothing was written): the form asks,
    `config apply` wants --allow-wide-auth."""

    def __init__(self, warnings: list[str]):
        super().__init__("; ".join(warnings))
        self.warnings = warnings


async def auth_warnings(s: AsyncSession, customer_id: int, data: IpAuthInput,
                        own_id: int | None) -> list[str]:
    """What must be confirmed before ingress `data` is saved for `customer_id` ([] if
    nothing): a network wider than /8 (IPv4) or /32 (IPv6), or addresses that another
    customer's ingress entries cover too. The one place of this rule: the form and `config
    apply` only show it. An edit that keeps host and direction was confirmed before."""
    if data.direction != "ingress":
        return []
    if own_id is not None:
        old = (await s.execute(select(IpAuth.host, IpAuth.direction)
                               .where(IpAuth.id == own_id))).first()
        if old is not None and tuple(old) == (data.host, "ingress"):
            return []
    warnings = [w for w in (wide_network(data.host),) if w]
    stmt = (select(IpAuth.host, Customer.name)
            .join(Customer, Customer.id == IpAuth.customer_id)
            .where(IpAuth.direction == "ingress", IpAuth.customer_id != customer_id,
                   Customer.archived_at.is_(None)))
    if "/" not in data.host:  # an address: only the same address or a network holds it
        stmt = stmt.where(or_(IpAuth.host == data.host, IpAuth.host.contains("/")))
    names = sorted({name for host, name in await s.execute(stmt)
                    if hosts_overlap(host, data.host)})
    if names:
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3
                                        else "")
        warnings.append(f"{data.host} is also an ingress IP of {shown}: a call from it "
                        "could be taken for either customer's")
    return warnings


async def sip_secrets(username: str, password: str) -> dict[str, str]:
    """The stored form of a SIP password: argon2 password_hash and digest ha1. argon2
    takes tens of milliseconds of CPU: it runs off the event loop, and callers hash before
    opening their write transaction (SQLite's write lock is not held meanwhile)."""
    return {"password_hash": await asyncio.to_thread(passwords.hash_password, password),
            "ha1": passwords.ha1(username, password)}


def check_sip_rename(old_username: str, new_username: str, new_password: bool) -> None:
    """A new username needs a new password: HA1 includes the username."""
    if old_username != new_username and not new_password:
        raise ValidationError({"password": "a new username needs a new password (the SIP "
                                           "digest HA1 includes the username)"})


async def auth_rows_of(s: AsyncSession, customer_ids: list[int]
                       ) -> tuple[dict[int, list[IpAuth]], dict[int, list[SipUser]]]:
    """The customers' IP-auth entries and SIP users (in id order), by customer."""
    ips: dict[int, list[IpAuth]] = {}
    users: dict[int, list[SipUser]] = {}
    for chunk in (customer_ids[i:i + 500] for i in range(0, len(customer_ids), 500)):
        for model, into in ((IpAuth, ips), (SipUser, users)):
            for row in await s.scalars(select(model).where(model.customer_id.in_(chunk))
                                       .order_by(model.id)):
                into.setdefault(row.customer_id, []).append(row)
    return ips, users


async def sip_users_named(s: AsyncSession, usernames: list[str]) -> dict[str, SipUser]:
    """SIP users by lower-case username, of any customer."""
    out: dict[str, SipUser] = {}
    keys = sorted({u.lower() for u in usernames})
    for chunk in (keys[i:i + 500] for i in range(0, len(keys), 500)):
        for row in await s.scalars(select(SipUser).where(func.lower(SipUser.username)
                                                         .in_(chunk))):
            out[row.username.lower()] = row
    return out


async def add_ip_auth(w: ConfigWrites, customer_id: int, data: IpAuthInput) -> int:
    await check_host(w.s, customer_id, data, None)
    values = asdict(data)
    entry_id = await w.insert(IpAuth, {"customer_id": customer_id, **values})
    await w.audit("create", "ip_auth", entry_id, None, values, customer_id=customer_id)
    return entry_id


async def change_ip_auth(w: ConfigWrites, current: IpAuth, data: IpAuthInput) -> None:
    await check_host(w.s, current.customer_id, data, current.id)
    before = snapshot_of(current, IP_FIELDS)
    values = asdict(data)
    await w.update(IpAuth, current, values, "IP-auth entry")
    await w.audit("update", "ip_auth", current.id, before, values,
                  customer_id=current.customer_id)


async def add_sip_user(w: ConfigWrites, customer_id: int, values: dict, stored: dict) -> int:
    """A user from its SIP_FIELDS values and stored secrets (sip_secrets)."""
    await check_unique(w.s, SipUser.username, values["username"], None, field="username",
                       message=USERNAME_TAKEN)
    user_id = await w.insert(SipUser, {"customer_id": customer_id, **values, **stored})
    await w.audit("create", "sip_users", user_id, None, {**values, **stored},
                  customer_id=customer_id)
    return user_id


async def change_sip_user(w: ConfigWrites, current: SipUser, values: dict) -> None:
    """Write SIP_FIELDS values (and customer_id or new secrets, if given) over `current`;
    a user moved to another customer reindexes both."""
    await check_unique(w.s, SipUser.username, values.get("username", current.username),
                       current.id, field="username", message=USERNAME_TAKEN)
    before = snapshot_of(current, (*SIP_FIELDS, "customer_id", "password_hash", "ha1"))
    await w.update(SipUser, current, values, "SIP user")
    w.touched.add(current.customer_id)
    await w.audit("update", "sip_users", current.id, before, {**before, **values},
                  customer_id=values.get("customer_id", current.customer_id))


async def drop_auth_row(w: ConfigWrites, current: IpAuth | SipUser) -> None:
    """Delete one of a customer's IP-auth entries or SIP users."""
    before = snapshot_of(current, IP_FIELDS if isinstance(current, IpAuth) else SIP_FIELDS)
    await w.delete(type(current), current.id)
    await w.audit("delete", type(current).__tablename__, current.id, before, None,
                  customer_id=current.customer_id)


async def _require_confirmation(s: AsyncSession, customer_id: int, data: IpAuthInput,
                                own_id: int | None, confirmed: bool) -> None:
    if not confirmed:
        warnings = await auth_warnings(s, customer_id, data, own_id)
        if warnings:
            raise NeedsConfirmation(warnings)


class AuthService:
    def __init__(self, db: Database, actor: Actor, clock: Clock = utcnow):
        self.db = db
        self.actor = actor
        self.clock = clock

    # -- IP authentication ----------------------------------------------------------------
    async def ip_auth(self, customer_id: int) -> list[IpAuthRow]:
        async with self.db.sessions() as s:
            found = await s.scalars(select(IpAuth).where(IpAuth.customer_id == customer_id)
                                    .order_by(IpAuth.id))
            return [_ip_row(r) for r in found]

    async def create_ip_auth(self, customer_id: int, raw: dict, *,
                             confirmed: bool = False) -> int:
        """NeedsConfirmation (nothing written) for a wide or shared ingress IP unless
        `confirmed`."""
        self.actor.require("write")
        data = validate_ip_auth(raw)
        async with self.db.sessions() as s, s.begin():
            await get_or_404(s, Customer, customer_id, "customer")
            await check_host(s, customer_id, data, None)
            await _require_confirmation(s, customer_id, data, None, confirmed)
            w = ConfigWrites(s, self.actor, self.clock())
            entry_id = await add_ip_auth(w, customer_id, data)
            await w.finish()
        return entry_id

    async def update_ip_auth(self, entry_id: int, version: int, raw: dict, *,
                             confirmed: bool = False) -> None:
        self.actor.require("write")
        data = validate_ip_auth(raw)
        async with self.db.sessions() as s, s.begin():
            current = await get_or_404(s, IpAuth, entry_id, "IP-auth entry")
            if current.version != version:
                raise StaleError("IP-auth entry")
            await check_host(s, current.customer_id, data, entry_id)
            await _require_confirmation(s, current.customer_id, data, entry_id, confirmed)
            w = ConfigWrites(s, self.actor, self.clock())
            await change_ip_auth(w, current, data)
            await w.finish()

    async def delete_ip_auth(self, entry_id: int) -> None:
        await self._delete(IpAuth, entry_id, "IP-auth entry")

    async def _delete(self, model, row_id: int, what: str) -> None:
        """Delete one of a customer's auth rows, audited, the customer reindexed."""
        self.actor.require("delete")
        async with self.db.sessions() as s, s.begin():
            w = ConfigWrites(s, self.actor, self.clock())
            await drop_auth_row(w, await get_or_404(s, model, row_id, what))
            await w.finish()

    # -- SIP users ------------------------------------------------------------------------
    async def sip_users(self, customer_id: int) -> list[SipUserRow]:
        async with self.db.sessions() as s:
            found = await s.scalars(select(SipUser).where(SipUser.customer_id == customer_id)
                                    .order_by(SipUser.username))
            return [SipUserRow(r.id, r.version, r.customer_id, r.username, r.channels,
                               r.flow_speed, r.ip_whitelist) for r in found]

    def generate_password(self) -> str:
        return passwords.generate_password()

    async def create_sip_user(self, customer_id: int, raw: dict) -> tuple[int, str]:
        """Returns (id, clear password) - the typed or the generated one, to show once."""
        self.actor.require("write")
        data = validate_sip_user(raw, creating=True)
        password = data.password or passwords.generate_password()
        stored = await sip_secrets(data.username, password)
        async with self.db.sessions() as s, s.begin():
            await get_or_404(s, Customer, customer_id, "customer")
            w = ConfigWrites(s, self.actor, self.clock())
            user_id = await add_sip_user(w, customer_id,
                                         {f: getattr(data, f) for f in SIP_FIELDS}, stored)
            await w.finish()
        return user_id, password

    async def update_sip_user(self, user_id: int, version: int, raw: dict) -> str | None:
        """Save an edit; returns the new clear password when one was typed or generated.
        A new username needs a new password: HA1 includes the username."""
        self.actor.require("write")
        data = validate_sip_user(raw, creating=False)
        password = data.password or (passwords.generate_password() if data.generate else "")
        async with self.db.sessions() as s:
            current = await get_or_404(s, SipUser, user_id, "SIP user")
            if current.version != version:
                raise StaleError("SIP user")
            old_username = current.username
        check_sip_rename(old_username, data.username, bool(password))
        stored = await sip_secrets(data.username, password) if password else {}
        async with self.db.sessions() as s, s.begin():
            current = await get_or_404(s, SipUser, user_id, "SIP user")
            if current.version != version:
                raise StaleError("SIP user")
            w = ConfigWrites(s, self.actor, self.clock())
            await change_sip_user(w, current, {f: getattr(data, f) for f in SIP_FIELDS}
                                  | stored)
            await w.finish()
        return password or None

    async def reset_sip_password(self, user_id: int) -> str:
        """Generate and store a new password; returns it (shown once)."""
        self.actor.require("write")
        password = passwords.generate_password()
        async with self.db.sessions() as s:
            username = (await get_or_404(s, SipUser, user_id, "SIP user")).username
        stored = await sip_secrets(username, password)
        async with self.db.sessions() as s, s.begin():
            current = await get_or_404(s, SipUser, user_id, "SIP user")
            if current.username != username:  # renamed since: the HA1 would be wrong
                raise StaleError("SIP user")
            w = ConfigWrites(s, self.actor, self.clock())
            await change_sip_user(w, current, stored)
            await w.finish()
        return password

    async def delete_sip_user(self, user_id: int) -> None:
        await self._delete(SipUser, user_id, "SIP user")


def _ip_row(r: IpAuth) -> IpAuthRow:
    return IpAuthRow(r.id, r.version, r.customer_id,
                     *(getattr(r, f) for f in IP_FIELDS))
