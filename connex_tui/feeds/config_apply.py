"""`config apply`: bring the database in line with a routing-configuration document
(docs/config-format.md) in one transaction.

1. read_document: shape, every entity through its one validator, names unique. Any error
   and nothing is touched.
2. One transaction, in dependency order (providers and their cards, scripts, customer
   cards, rates, customers with routes, IP auth, SIP users, CLI rules, then deletes): each
   entity is matched by name (host+direction, username, tech prefix, position), compared,
   and created/updated only when it differs, so a second apply changes nothing.
   Every rule (references to card, parent and script names, currencies, fixed fields,
   shared hosts, what may be deleted) is the data modules' own session-level function, the
   one their services call, run against what the transaction holds so far; every such
   error is collected with its YAML path, and any error rolls everything back.
3. A dry run does all of that and rolls back: it reports exactly what the apply would do.

SIP passwords are hashed (argon2, tens of ms each) before the transaction opens, so that
SQLite's write lock is not held while hashing.

Entities absent from the document stay unless `prune` (customers never: they are
accounts, not configuration). A nested list that is present (a provider's cards, a card's
rates, a customer's ip_auth / sip_users / routes / cli_rules) is the complete set: rows it
does not hold are deleted.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from connex_tui.data import audit, config_state, passwords, search
from connex_tui.data.access import Actor, PermissionDenied
from connex_tui.data.auth import (
    IP_FIELDS,
    auth_warnings,
    check_host,
    check_sip_rename,
    sip_secrets,
)
from connex_tui.data.config_write import plain_decimal, update_versioned
from connex_tui.data.customers import insert_customer, update_customer
from connex_tui.data.db import Database
from connex_tui.data.models import (
    CliRule,
    Customer,
    IngressRoute,
    IpAuth,
    Provider,
    RateCard,
    RoutingScript,
    SipUser,
)
from connex_tui.data.providers import remove_provider
from connex_tui.data.rate_cards import (
    card_values,
    check_card_change,
    parent_names,
    remove_card,
    resolve_card,
    set_parents,
    touch_card,
)
from connex_tui.data.rate_rows import RowSync, count_rows
from connex_tui.data.routes import (
    RouteRow,
    resolve_route,
    route_rows,
    route_values,
    write_route_children,
)
from connex_tui.data.scripts import remove_script
from connex_tui.engine.clock import Clock, utcnow
from connex_tui.engine.regex_guard import slow_pattern_report
from connex_tui.engine.route_fields import format_strategy
from connex_tui.engine.routing_validation import RouteInput
from connex_tui.engine.validation import ValidationError
from connex_tui.feeds import config_yaml as cy
from connex_tui.feeds.config_doc import (
    CardSpec,
    CustomerSpec,
    Document,
    SipUserSpec,
    read_document,
)
from connex_tui.feeds.rates_csv import RowError, read_file

SECRET_FIELDS = ("password_hash", "ha1")
CLI_FIELDS = (*cy.CLI_RULE_FIELDS, "position")
SIP_FIELDS = ("channels", "flow_speed", "ip_whitelist")


@dataclass(frozen=True, slots=True)
class Change:
    action: str  # create | update | delete
    what: str  # "customer ACME", "route [1] (tech prefix 44#) of ACME"
    fields: tuple[tuple[str, str, str], ...] = ()  # (field, before, after) as shown

    def __str__(self) -> str:
        text = f"{self.action} {self.what}"
        if self.fields:
            text += ": " + "; ".join(f"{f} {b} → {a}" if b or a else f for f, b, a in
                                     self.fields)
        return text


@dataclass(frozen=True, slots=True)
class _Secret:
    """A SIP user's secret as prepared before the transaction."""

    stored: dict | None  # password_hash + ha1 to write; None: keep the user's own
    generated: str = ""  # the password generated for a new user, shown once


@dataclass(slots=True)
class ApplyReport:
    changes: list[Change] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    passwords: list[tuple[str, str]] = field(default_factory=list)  # generated, shown once
    written: bool = False
    auth_warnings: int = 0  # of `warnings`: wide or shared ingress IPs, to be accepted
    allowed: bool = False  # those were accepted (--allow-wide-auth)

    @property
    def refused(self) -> bool:
        """Authentication warnings nobody accepted: nothing is written."""
        return bool(self.auth_warnings) and not self.allowed


def _show(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return plain_decimal(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(map(str, value)) + "]"
    text = str(value).replace("\n", " | ")
    if text == "":
        return "''"
    return text if len(text) <= 60 else text[:57] + "…"


def _diff(before: dict, after: dict, keys=None) -> tuple[tuple[str, str, str], ...]:
    out = []
    for k in keys or after:
        b, a = before.get(k), after.get(k)
        if b != a:
            shown = (_show(b), _show(a))
            if k in SECRET_FIELDS:
                out.append((k, "", ""))
            elif shown[0] == shown[1]:  # long texts that differ past what is shown
                out.append((f"{k} changed ({len(str(b))} → {len(str(a))} characters)", "", ""))
            else:
                out.append((k, *shown))
    return tuple(out)


def _names(values) -> tuple[str, ...]:
    return tuple(sorted(v.lower() for v in values))


def _may_delete(actor: Actor) -> bool:
    try:
        actor.require("delete")
    except PermissionDenied:
        return False
    return True


async def _prepare_secrets(db: Database, doc: Document) -> dict[str, _Secret]:
    """Every SIP user's secret by lower-case username, hashed before the write transaction
    opens (argon2 takes tens of ms a user; SQLite's write lock must not wait on it). A
    password equal to the user's current one keeps its hash, so apply stays idempotent;
    `generate` makes a password for a new user only."""
    specs = [u for c in doc.customers for u in (c.sip_users or ())]
    wanted = sorted({u.data.username.lower() for u in specs
                     if not u.ha1 and (u.data.password or u.data.generate)})
    current = {}
    if wanted:
        async with db.sessions() as s:  # a short read; closed before any hashing
            for chunk in (wanted[i:i + 500] for i in range(0, len(wanted), 500)):
                for row in await s.execute(
                        select(SipUser.username, SipUser.ha1, SipUser.password_hash)
                        .where(func.lower(SipUser.username).in_(chunk))):
                    current[row.username.lower()] = row
    out: dict[str, _Secret] = {}
    for spec in specs:
        username, key = spec.data.username, spec.data.username.lower()
        if spec.ha1:
            out[key] = _Secret({"password_hash": spec.password_hash, "ha1": spec.ha1})
            continue
        password, generated = spec.data.password, ""
        if not password and spec.data.generate and key not in current:
            password = generated = passwords.generate_password()
        row = current.get(key)
        if not password or (row is not None and row.ha1 == passwords.ha1(username, password)
                            and await asyncio.to_thread(passwords.verify_password,
                                                        row.password_hash, password)):
            out[key] = _Secret(None)
        else:
            out[key] = _Secret(await sip_secrets(username, password), generated)
    return out


class _Applier:
    def __init__(self, s: AsyncSession, actor: Actor, now: datetime, prune: bool,
                 secrets: dict[str, _Secret]):
        self.s = s
        self.actor = actor
        self.now = now
        self.prune = prune
        self.secrets = secrets  # lower-case username -> prepared secret
        self.report = ApplyReport()
        self.touched: set[int] = set()  # customers to reindex
        self.card_ids: dict[str, int] = {}  # lower name -> id of the document's cards
        self.provider_ids: dict[str, int] = {}
        self.doomed_cards: list[tuple[str, int, str]] = []  # (path, id, name)
        self.pre = _Existing()

    # -- bookkeeping ------------------------------------------------------------------------
    def fail(self, path: str, exc: ValidationError) -> None:
        for name, message in exc.errors.items():
            self.report.errors.append(f"{path}.{name}: {message}")

    async def record(self, action: str, table: str, row_id: int, what: str, before: dict | None,
                     after: dict | None, *, customer_id: int | None = None,
                     fields: tuple = (), audit_action: str | None = None) -> None:
        self.report.changes.append(Change(action, what, fields))
        await audit.record(self.s, self.actor, audit_action or action, table, row_id,
                           customer_id=customer_id, before=before, after=after, at=self.now)
        if customer_id is not None:
            self.touched.add(customer_id)

    async def _insert(self, model, values: dict) -> int:
        return await self.s.scalar(insert(model).values(
            **values, version=1, created_at=self.now, updated_at=self.now)
            .returning(model.id))

    async def _update(self, model, row, values: dict, what: str) -> None:
        await update_versioned(self.s, model, row.id, row.version, values, what=what,
                               now=self.now)

    async def _delete(self, model, row_id: int) -> None:
        self.actor.require("delete")
        await self.s.execute(delete(model).where(model.id == row_id))

    async def _by_name(self, model, column) -> dict[str, object]:
        return {getattr(r, column.key).lower(): r for r in await self.s.scalars(select(model))}

    # -- providers and cards ----------------------------------------------------------------
    async def providers(self, doc: Document) -> None:
        specs = doc.providers
        current = await self._by_name(Provider, Provider.name)
        for spec in specs:
            values = asdict(spec.data)
            row = current.get(spec.data.name.lower())
            what = f"provider {spec.data.name}"
            if row is None:
                pid = await self._insert(Provider, values)
                await self.record("create", "providers", pid, what, None, values)
            else:
                pid = row.id
                before = {k: getattr(row, k) for k in values}
                fields = _diff(before, values)
                if fields:
                    await self._update(Provider, row, values, "provider")
                    await self.record("update", "providers", pid, what, before, values,
                                      fields=fields)
            self.provider_ids[spec.data.name.lower()] = pid
        cards = await self._by_name(RateCard, RateCard.name)
        for spec in specs:
            if spec.cards is None:
                continue
            for card in spec.cards:
                await self.card(card, cards)
            listed = {c.data.name.lower() for c in doc.cards()}  # a card may move here
            pid = self.provider_ids[spec.data.name.lower()]
            for row in cards.values():
                if row.provider_id == pid and row.name.lower() not in listed:
                    self.doomed_cards.append((f"{spec.path}.cards", row.id, row.name))

    async def card(self, spec: CardSpec, cards: dict) -> None:
        data = spec.data
        row = cards.get(data.name.lower())
        what = f"rate card {data.name}"
        try:
            if row is not None:
                check_card_change(row, data)
            provider_id, parent_ids = await resolve_card(self.s, data,
                                                         None if row is None else row.id)
        except ValidationError as exc:
            self.fail(spec.path, exc)
            return
        values = card_values(data, provider_id)
        after = {**values, "parents": _names(data.parents)}
        if row is None:
            card_id = await self._insert(RateCard, values)
            await set_parents(self.s, card_id, parent_ids)
            await self.record("create", "rate_cards", card_id, what, None, after)
        else:
            card_id = row.id
            before = {**{k: getattr(row, k) for k in values},
                      "parents": _names(await parent_names(self.s, card_id))}
            fields = _diff(before, after)
            if fields:
                await self._update(RateCard, row, values, "rate card")
                await set_parents(self.s, card_id, parent_ids)
                await self.record("update", "rate_cards", card_id, what, before, after,
                                  fields=fields)
        self.card_ids[data.name.lower()] = card_id

    async def card_rates(self, spec: CardSpec) -> None:
        card_id = self.card_ids.get(spec.data.name.lower())
        if card_id is None or not spec.has_rates:
            return
        before = await count_rows(self.s, card_id)
        if before and not _may_delete(self.actor):
            # a complete list deletes the rows it lacks: count first, refuse before writing
            counts = await self._sync_rows(spec, card_id, write=False)
            if counts is None:
                return
            if counts.deleted:
                self.actor.require("delete")
        counts = await self._sync_rows(spec, card_id, write=True)
        if counts is None:
            return
        if counts.touched:
            await touch_card(self.s, card_id, self.now)
            after = {"rows": before + counts.added - counts.deleted, "added": counts.added,
                     "changed": counts.changed, "deleted": counts.deleted}
            await self.record("update", "rate_cards", card_id,
                              f"rates of rate card {spec.data.name}", {"rows": before}, after,
                              fields=((str(counts), "", ""),), audit_action="import")

    async def _sync_rows(self, spec: CardSpec, card_id: int, *, write: bool):
        """The card's rows made the spec's complete set; the counts, or None after an error."""
        sync = RowSync(self.s, card_id, write=write)
        if spec.rows is not None:
            for row in spec.rows:
                await sync.add(row)
        else:
            for item in read_file(spec.csv):
                if isinstance(item, RowError):  # changed since it was checked
                    self.report.errors.append(f"{spec.path}.rates_csv: {item}")
                    return None
                await sync.add(item)
        return await sync.finish(replace=True)

    # -- scripts --------------------------------------------------------------------------
    async def scripts(self, doc: Document) -> None:
        current = await self._by_name(RoutingScript, RoutingScript.name)
        for spec in doc.scripts:
            values = asdict(spec.data)
            row = current.get(spec.data.name.lower())
            what = f"script {spec.data.name}"
            if row is None:
                sid = await self._insert(RoutingScript, values)
                await self.record("create", "routing_scripts", sid, what, None, values)
                continue
            before = {k: getattr(row, k) for k in values}
            fields = _diff(before, values)
            if fields:
                await self._update(RoutingScript, row, values, "script")
                await self.record("update", "routing_scripts", row.id, what, before, values,
                                  fields=fields)

    # -- customers --------------------------------------------------------------------------
    async def customers(self, doc: Document) -> None:
        keys = [spec.data.name.lower() for spec in doc.customers]
        current: dict[str, Customer] = {}
        for i in range(0, len(keys), 500):
            current |= {c.name_key: c for c in await self.s.scalars(
                select(Customer).where(Customer.name_key.in_(keys[i:i + 500])))}
        await self.pre.load(self, [c.id for c in current.values()], sorted(doc.usernames()))
        moving = doc.usernames()
        for spec in doc.customers:
            data = spec.data
            row = current.get(data.name.lower())
            values = asdict(data)
            what = f"customer {data.name}"
            if row is not None and row.archived_at is not None:
                self.report.errors.append(f"{spec.path}.name: '{row.name}' is archived: "
                                          "restore it first")
                continue
            if row is None:
                try:
                    cid = await insert_customer(self.s, data, self.now)
                except ValidationError as exc:
                    self.fail(spec.path, exc)
                    continue
                await self.record("create", "customers", cid, what, None, values,
                                  customer_id=cid)
            else:
                cid = row.id
                before = {k: getattr(row, k) for k in values}
                fields = _diff(before, values)
                if fields:
                    try:  # refuses a currency change, as the form does
                        await update_customer(self.s, row, row.version, data, self.now)
                    except ValidationError as exc:
                        self.fail(spec.path, exc)
                        continue
                    await self.record("update", "customers", cid, what, before, values,
                                      customer_id=cid, fields=fields)
            customer = await self.s.get(Customer, cid)
            await self.customer_rows(spec, customer, moving)

    async def customer_rows(self, spec: CustomerSpec, customer: Customer,
                            moving: set[str]) -> None:
        """Deletes first (so that a removed entry cannot clash with a new one), then
        routes before IP auth: a shared ingress IP needs the routes' tech prefixes."""
        cid = customer.id
        of = f" of {customer.name}"
        rules = ([(f"{p}.cli", r.cli) for p, r in spec.cli_rules] if spec.cli_rules is not None
                 else [(f"{spec.path}.cli_rules", r.cli) for r in self.pre.cli_rules.get(cid, [])])
        dials = ([(f"{p}.dial_string", r.dial_string) for p, r in spec.routes]
                 if spec.routes is not None else
                 [(f"{spec.path}.routes", r.dial_string) for r in self.pre.routes.get(cid, [])])
        warnings, error = slow_pattern_report(
            rules + [(where, line) for where, text in dials for line in text.splitlines()])
        self.report.warnings += warnings
        if error:
            self.report.errors.append(f"{spec.path}: {error}")
        ip_rows = self.pre.ip_auth.get(cid, [])
        ip_match: dict[tuple[str, str], IpAuth] = {}
        for r in ip_rows:
            ip_match.setdefault((r.host, r.direction), r)
        if spec.ip_auth is not None:
            wanted = {(e.host, e.direction) for _, e in spec.ip_auth}
            for r in ip_rows:
                if (r.host, r.direction) not in wanted or ip_match[(r.host, r.direction)] is not r:
                    await self._delete(IpAuth, r.id)
                    await self.record("delete", "ip_auth", r.id,
                                      f"ip_auth {r.host} ({r.direction}){of}",
                                      {f: getattr(r, f) for f in IP_FIELDS}, None,
                                      customer_id=cid)
        if spec.sip_users is not None:
            listed = {u.data.username.lower() for u in spec.sip_users}
            for r in self.pre.sip_users.get(cid, []):
                key = r.username.lower()
                if key not in listed and key not in moving:  # moving: another customer's now
                    await self._delete(SipUser, r.id)
                    await self.record("delete", "sip_users", r.id, f"sip_user {r.username}{of}",
                                      {"username": r.username}, None, customer_id=cid)
        route_pairs = await self._match_routes(spec, cid, of)
        rule_rows = self.pre.cli_rules.get(cid, [])
        if spec.cli_rules is not None:
            for i, r in enumerate(rule_rows[len(spec.cli_rules):], len(spec.cli_rules)):
                await self._delete(CliRule, r.id)
                await self.record("delete", "cli_rules", r.id, f"cli_rule [{i}] ({r.cli}){of}",
                                  {f: getattr(r, f) for f in CLI_FIELDS}, None, customer_id=cid)
        for position, ((path, data), row) in enumerate(route_pairs):
            await self.route(path, data, row, customer, position)
        for path, entry in spec.ip_auth or ():
            await self.ip_auth(path, entry, ip_match.get((entry.host, entry.direction)),
                               cid, of)
        for user in spec.sip_users or ():
            await self.sip_user(user, cid, of)
        for i, (_path, rule) in enumerate(spec.cli_rules or ()):
            row = rule_rows[i] if i < len(rule_rows) else None
            values = {f: getattr(rule, f) for f in cy.CLI_RULE_FIELDS} | {"position": i}
            what = f"cli_rule [{i}] ({rule.cli}){of}"
            if row is None:
                rid = await self._insert(CliRule, {"customer_id": cid, **values})
                await self.record("create", "cli_rules", rid, what, None, values,
                                  customer_id=cid)
                continue
            before = {f: getattr(row, f) for f in CLI_FIELDS}
            fields = _diff(before, values)
            if fields:
                await self._update(CliRule, row, values, "CLI rule")
                await self.record("update", "cli_rules", row.id, what, before, values,
                                  customer_id=cid, fields=fields)

    # -- routes -----------------------------------------------------------------------------
    async def _match_routes(self, spec: CustomerSpec, cid: int, of: str
                            ) -> list[tuple[tuple[str, RouteInput], RouteRow | None]]:
        """Routes match by tech prefix; among routes sharing one, first the route with the
        same dial string, then the rest in order. Unmatched routes are deleted now."""
        if spec.routes is None:
            return []
        free = list(self.pre.routes.get(cid, []))
        pairs: dict[int, RouteRow | None] = {}
        for i, (_, data) in enumerate(spec.routes):
            hit = next((r for r in free if r.tech_prefix == data.tech_prefix
                        and r.dial_string == data.dial_string), None)
            if hit is not None:
                free.remove(hit)
                pairs[i] = hit
        for i, (_, data) in enumerate(spec.routes):
            if i not in pairs:
                hit = next((r for r in free if r.tech_prefix == data.tech_prefix), None)
                if hit is not None:
                    free.remove(hit)
                pairs[i] = hit
        for r in free:
            await self._delete(IngressRoute, r.id)
            await self.record("delete", "ingress_routes", r.id,
                              f"route {_route_label(r.tech_prefix)}{of}",
                              _route_view(r), None, customer_id=cid)
        return [(spec.routes[i], pairs[i]) for i in range(len(spec.routes))]

    async def route(self, path: str, data: RouteInput, row: RouteRow | None,
                    customer: Customer, position: int) -> None:
        what = f"route [{position}] {_route_label(data.tech_prefix)} of {customer.name}"
        after = _route_view(data) | {"position": position}
        if row is not None:
            before = _route_view(row) | {"position": row.position}
            fields = _diff(before, after)
            if not fields:
                return
        try:
            res = await resolve_route(self.s, customer, data, None if row is None else row.id)
        except ValidationError as exc:
            self.fail(path, exc)
            return
        values = route_values(data, res) | {"position": position}
        if row is None:
            route_id = await self._insert(IngressRoute, {"customer_id": customer.id, **values})
            await self.record("create", "ingress_routes", route_id, what, None, after,
                              customer_id=customer.id)
        else:
            route_id = row.id
            await self._update(IngressRoute, row, values, "route")
            await self.record("update", "ingress_routes", route_id, what, before, after,
                              customer_id=customer.id, fields=fields)
        await write_route_children(self.s, route_id, res)

    # -- IP auth and SIP users --------------------------------------------------------------
    async def ip_auth(self, path: str, entry, row: IpAuth | None, cid: int, of: str) -> None:
        values = asdict(entry)
        what = f"ip_auth {entry.host} ({entry.direction}){of}"
        before = None
        if row is not None:
            before = {f: getattr(row, f) for f in IP_FIELDS}
            fields = _diff(before, values)
            if not fields:
                return
        try:
            await check_host(self.s, cid, entry, None if row is None else row.id)
        except ValidationError as exc:
            self.fail(path, exc)
            return
        for warning in await auth_warnings(self.s, cid, entry, None if row is None else row.id):
            self.report.warnings.append(f"{path}.host: {warning}")
            self.report.auth_warnings += 1
        if row is None:
            eid = await self._insert(IpAuth, {"customer_id": cid, **values})
            await self.record("create", "ip_auth", eid, what, None, values, customer_id=cid)
        else:
            await self._update(IpAuth, row, values, "IP-auth entry")
            await self.record("update", "ip_auth", row.id, what, before, values,
                              customer_id=cid, fields=fields)

    async def sip_user(self, spec: SipUserSpec, cid: int, of: str) -> None:
        data = spec.data
        row = self.pre.usernames.get(data.username.lower())
        what = f"sip_user {data.username}{of}"
        values = {"username": data.username, "customer_id": cid,
                  **{f: getattr(data, f) for f in SIP_FIELDS}}
        secret = self.secrets[data.username.lower()]
        if row is None:
            if secret.stored is None:
                self.report.errors.append(
                    f"{spec.path}.password: required for a new SIP user (or generate: true, "
                    "or ha1 and password_hash from `config export --with-secrets`)")
                return
            uid = await self._insert(SipUser, values | secret.stored)
            await self.record("create", "sip_users", uid, what, None, values | secret.stored,
                              customer_id=cid)
            if secret.generated:
                self.report.passwords.append((data.username, secret.generated))
            return
        # generated for a user that did not exist a moment ago: an existing one keeps its own
        stored = None if secret.generated else secret.stored
        try:
            check_sip_rename(row.username, data.username, stored is not None)
        except ValidationError as exc:
            self.fail(spec.path, exc)
            return
        before = {k: getattr(row, k) for k in (*values, *SECRET_FIELDS)}
        after = values | (stored or {})
        fields = _diff(before, after)
        if not fields:
            return
        if row.customer_id != cid:  # moved here from another customer: say from whom
            self.touched.add(row.customer_id)
            was = await self.s.scalar(select(Customer.name).where(Customer.id == row.customer_id))
            fields = tuple(("customer", was, of[4:]) if f == "customer_id" else (f, b, a)
                           for f, b, a in fields)
        await self._update(SipUser, row, after, "SIP user")
        await self.record("update", "sip_users", row.id, what, before, before | after,
                          customer_id=cid, fields=fields)

    # -- deletes ----------------------------------------------------------------------------
    async def deletes(self, doc: Document) -> None:
        """Cards a provider's `cards` list no longer holds; with prune also the providers
        (with their cards), customer cards and scripts the document does not name. What is
        still in use (by routes, or a provider card as a customer card's parent) is refused
        by the same checks as the forms' deletes."""
        doomed = list(self.doomed_cards)
        providers = {p.data.name.lower() for p in doc.providers}
        if self.prune:
            named = {c.data.name.lower() for c in doc.cards()}
            gone = {pid for name, pid in (await self.s.execute(
                select(Provider.name, Provider.id))).all() if name.lower() not in providers}
            for row in await self.s.scalars(select(RateCard).order_by(RateCard.id)):
                if row.direction == "customer" and row.name.lower() not in named:
                    doomed.append(("rate_cards", row.id, row.name))
                elif row.direction == "provider" and row.provider_id in gone:
                    doomed.append(("providers", row.id, row.name))
        # customer cards first: a provider card whose customer cards go too may then go
        doomed.sort(key=lambda d: d[0] != "rate_cards")
        for path, card_id, name in doomed:
            self.actor.require("delete")
            row = await self.s.get(RateCard, card_id)
            before = {k: getattr(row, k) for k in ("name", "currency", "direction")}
            try:
                await remove_card(self.s, card_id)
            except ValidationError as exc:
                self.report.errors.append(f"{path}: rate card '{name}' is "
                                          f"{exc.errors['name']}: cannot delete it")
                continue
            await self.record("delete", "rate_cards", card_id, f"rate card {name}", before, None)
        if not self.prune:
            return
        for row in await self.s.scalars(select(Provider).where(Provider.id.in_(gone))):
            try:
                await remove_provider(self.s, row.id)
            except ValidationError:  # a card of it is still in use: reported above
                continue
            await self.record("delete", "providers", row.id, f"provider {row.name}",
                              {"name": row.name}, None)
        scripts = {sc.data.name.lower() for sc in doc.scripts}
        for row in await self.s.scalars(select(RoutingScript)):
            if row.name.lower() in scripts:
                continue
            self.actor.require("delete")
            try:
                await remove_script(self.s, row.id)
            except ValidationError as exc:
                self.report.errors.append(f"scripts: script '{row.name}' is "
                                          f"{exc.errors['name']}: cannot delete it")
                continue
            await self.record("delete", "routing_scripts", row.id, f"script {row.name}",
                              {"name": row.name}, None)

    # -- the whole document -----------------------------------------------------------------
    async def run(self, doc: Document) -> None:
        await self.providers(doc)
        await self.scripts(doc)
        cards = await self._by_name(RateCard, RateCard.name)
        for spec in doc.rate_cards:
            await self.card(spec, cards)
        for spec in doc.cards():
            await self.card_rates(spec)
        await self.customers(doc)
        await self.deletes(doc)
        if self.report.changes:
            await config_state.bump(self.s)
        if self.touched:
            await search.reindex(self.s, sorted(self.touched))


class _Existing:
    """The rows of the document's existing customers, read in a few queries before any of
    them is changed (each customer's rows are only changed in that customer's step)."""

    def __init__(self) -> None:
        self.ip_auth: dict[int, list[IpAuth]] = defaultdict(list)
        self.sip_users: dict[int, list[SipUser]] = defaultdict(list)
        self.cli_rules: dict[int, list[CliRule]] = defaultdict(list)
        self.routes: dict[int, list[RouteRow]] = defaultdict(list)
        self.usernames: dict[str, SipUser] = {}  # lower-case username -> user, any customer

    async def load(self, applier: _Applier, ids: list[int], usernames: list[str]) -> None:
        s = applier.s
        for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
            for model, into, order in ((IpAuth, self.ip_auth, (IpAuth.id,)),
                                       (SipUser, self.sip_users, (SipUser.id,)),
                                       (CliRule, self.cli_rules, (CliRule.position, CliRule.id))):
                for row in await s.scalars(select(model).where(model.customer_id.in_(chunk))
                                           .order_by(*order)):
                    into[row.customer_id].append(row)
            for route in await route_rows(s, IngressRoute.customer_id.in_(chunk)):
                self.routes[route.customer_id].append(route)
        for chunk in (usernames[i:i + 500] for i in range(0, len(usernames), 500)):
            for row in await s.scalars(select(SipUser).where(
                    func.lower(SipUser.username).in_(chunk))):
                self.usernames[row.username.lower()] = row


def _route_label(tech_prefix: str) -> str:
    return f"(tech prefix {tech_prefix})" if tech_prefix else "(no tech prefix)"


def _route_view(src: RouteInput | RouteRow) -> dict:
    """A route's fields in one comparable form (card and script names ignore case)."""
    strategy = src.strategy if isinstance(src, RouteRow) else format_strategy(src.strategy)
    view = {f: getattr(src, f) for f in cy.ROUTE_FIELDS}
    view |= {"rate_card": src.rate_card.lower(), "script": src.script.lower(),
             "lock_cards": _names(src.lock_cards), "exclude_cards": _names(src.exclude_cards),
             "strategy": strategy.lower()}
    return view


async def apply_config(db: Database, actor: Actor, path: str | Path, *, dry_run: bool = False,
                       prune: bool = False, allow_wide_auth: bool = False,
                       clock: Clock = utcnow) -> ApplyReport:
    """Apply the YAML file at `path`; see the module doc. OSError if unreadable. A new
    or moved ingress IP that is wide or shared (data.auth.auth_warnings) is a warning, and
    the file is refused (report.refused) unless `allow_wide_auth`."""
    actor.require("write")
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return ApplyReport(errors=["not UTF-8 text"])
    doc, errors = read_document(text.removeprefix("\ufeff"), path.parent)
    if errors:
        return ApplyReport(errors=errors)
    secrets = await _prepare_secrets(db, doc)
    async with db.sessions() as s:  # leaving without commit rolls everything back
        applier = _Applier(s, actor, clock(), prune, secrets)
        await applier.run(doc)
        report = applier.report
        report.allowed = allow_wide_auth
        if report.errors or report.refused or dry_run:
            report.passwords.clear()  # never stored: do not show them
            return report
        await s.commit()
        report.written = True
        return report
