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
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path

from connex_tui.data import passwords
from connex_tui.data.access import Actor, PermissionDenied
from connex_tui.data.auth import (
    IP_FIELDS,
    add_ip_auth,
    add_sip_user,
    auth_rows_of,
    auth_warnings,
    change_ip_auth,
    change_sip_user,
    check_sip_rename,
    drop_auth_row,
    sip_secrets,
    sip_users_named,
)
from connex_tui.data.cli_rules import add_cli_rule, change_cli_rule, cli_rules_of, drop_cli_rule
from connex_tui.data.config_write import ConfigWrites, plain_decimal
from connex_tui.data.customers import (
    add_customer,
    change_customer,
    customer_by_id,
    customers_named,
)
from connex_tui.data.db import Database
from connex_tui.data.providers import (
    add_provider,
    change_provider,
    drop_provider,
    providers_by_name,
)
from connex_tui.data.rate_cards import (
    add_card,
    cards_by_name,
    change_card,
    check_card_change,
    drop_card,
    parent_names,
    resolve_card,
    rows_replaced,
)
from connex_tui.data.rate_rows import RowSync, count_rows
from connex_tui.data.routes import (
    RouteRow,
    add_route,
    change_route,
    drop_route,
    resolve_route,
    routes_of,
)
from connex_tui.data.scripts import add_script, change_script, drop_script, scripts_by_name
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
            current = {k: (u.ha1, u.password_hash)
                       for k, u in (await sip_users_named(s, wanted)).items()}
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
        if not password or (row is not None and row[0] == passwords.ha1(username, password)
                            and await asyncio.to_thread(passwords.verify_password,
                                                        row[1], password)):
            out[key] = _Secret(None)
        else:
            out[key] = _Secret(await sip_secrets(username, password), generated)
    return out


class _Applier:
    """Matches the document against the database and composes data/'s session-level
    operations (each writes and audits) in the one transaction of `w`."""

    def __init__(self, w: ConfigWrites, prune: bool, secrets: dict[str, _Secret]):
        self.w = w
        self.s = w.s  # handed to data/ functions only
        self.actor = w.actor
        self.prune = prune
        self.secrets = secrets  # lower-case username -> prepared secret
        self.report = ApplyReport()
        self.card_ids: dict[str, int] = {}  # lower name -> id of the document's cards
        self.provider_ids: dict[str, int] = {}
        self.doomed_cards: list[tuple[str, object]] = []  # (path, card row)
        self.pre = _Existing()

    # -- bookkeeping ------------------------------------------------------------------------
    def fail(self, path: str, exc: ValidationError) -> None:
        for name, message in exc.errors.items():
            self.report.errors.append(f"{path}.{name}: {message}")

    def record(self, action: str, what: str, fields: tuple = ()) -> None:
        self.report.changes.append(Change(action, what, fields))

    # -- providers and cards ----------------------------------------------------------------
    async def providers(self, doc: Document) -> None:
        specs = doc.providers
        current = await providers_by_name(self.s)
        for spec in specs:
            values = asdict(spec.data)
            row = current.get(spec.data.name.lower())
            what = f"provider {spec.data.name}"
            if row is None:
                pid = await add_provider(self.w, spec.data)
                self.record("create", what)
            else:
                pid = row.id
                before = {k: getattr(row, k) for k in values}
                fields = _diff(before, values)
                if fields:
                    await change_provider(self.w, row, spec.data)
                    self.record("update", what, fields)
            self.provider_ids[spec.data.name.lower()] = pid
        cards = await cards_by_name(self.s)
        for spec in specs:
            if spec.cards is None:
                continue
            for card in spec.cards:
                await self.card(card, cards)
            listed = {c.data.name.lower() for c in doc.cards()}  # a card may move here
            pid = self.provider_ids[spec.data.name.lower()]
            for row in cards.values():
                if row.provider_id == pid and row.name.lower() not in listed:
                    self.doomed_cards.append((f"{spec.path}.cards", row))

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
        if row is None:
            card_id = await add_card(self.w, data, provider_id, parent_ids)
            self.record("create", what)
        else:
            card_id = row.id
            before = {"name": row.name, "currency": row.currency, "precision": row.precision,
                      "rounding": row.rounding, "provider_id": row.provider_id,
                      "parents": _names(await parent_names(self.s, card_id))}
            after = {"name": data.name, "currency": data.currency, "precision": data.precision,
                     "rounding": data.rounding, "provider_id": provider_id,
                     "parents": _names(data.parents)}
            fields = _diff(before, after)
            if fields:
                await change_card(self.w, row, data, provider_id, parent_ids)
                self.record("update", what, fields)
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
            after = {"rows": before + counts.added - counts.deleted, "added": counts.added,
                     "changed": counts.changed, "deleted": counts.deleted}
            await rows_replaced(self.w, card_id, {"rows": before}, after)
            self.record("update", f"rates of rate card {spec.data.name}",
                        ((str(counts), "", ""),))

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
        current = await scripts_by_name(self.s)
        for spec in doc.scripts:
            values = asdict(spec.data)
            row = current.get(spec.data.name.lower())
            what = f"script {spec.data.name}"
            if row is None:
                await add_script(self.w, spec.data)
                self.record("create", what)
                continue
            fields = _diff({k: getattr(row, k) for k in values}, values)
            if fields:
                await change_script(self.w, row, spec.data)
                self.record("update", what, fields)

    # -- customers --------------------------------------------------------------------------
    async def customers(self, doc: Document) -> None:
        current = await customers_named(self.s, [spec.data.name for spec in doc.customers])
        await self.pre.load(self.s, [c.id for c in current.values()], sorted(doc.usernames()))
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
                    cid = await add_customer(self.w, data)
                except ValidationError as exc:
                    self.fail(spec.path, exc)
                    continue
                self.record("create", what)
            else:
                cid = row.id
                fields = _diff({k: getattr(row, k) for k in values}, values)
                if fields:
                    try:  # refuses a currency change, as the form does
                        await change_customer(self.w, row, data)
                    except ValidationError as exc:
                        self.fail(spec.path, exc)
                        continue
                    self.record("update", what, fields)
            customer = await customer_by_id(self.s, cid)
            await self.customer_rows(spec, customer, moving)

    async def customer_rows(self, spec: CustomerSpec, customer, moving: set[str]) -> None:
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
        ip_match: dict[tuple[str, str], object] = {}
        for r in ip_rows:
            ip_match.setdefault((r.host, r.direction), r)
        if spec.ip_auth is not None:
            wanted = {(e.host, e.direction) for _, e in spec.ip_auth}
            for r in ip_rows:
                if (r.host, r.direction) not in wanted or ip_match[(r.host, r.direction)] is not r:
                    await drop_auth_row(self.w, r)
                    self.record("delete", f"ip_auth {r.host} ({r.direction}){of}")
        if spec.sip_users is not None:
            listed = {u.data.username.lower() for u in spec.sip_users}
            for r in self.pre.sip_users.get(cid, []):
                key = r.username.lower()
                if key not in listed and key not in moving:  # moving: another customer's now
                    await drop_auth_row(self.w, r)
                    self.record("delete", f"sip_user {r.username}{of}")
        route_pairs = await self._match_routes(spec, cid, of)
        rule_rows = self.pre.cli_rules.get(cid, [])
        if spec.cli_rules is not None:
            for i, r in enumerate(rule_rows[len(spec.cli_rules):], len(spec.cli_rules)):
                await drop_cli_rule(self.w, r)
                self.record("delete", f"cli_rule [{i}] ({r.cli}){of}")
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
                await add_cli_rule(self.w, cid, values)
                self.record("create", what)
                continue
            fields = _diff({f: getattr(row, f) for f in CLI_FIELDS}, values)
            if fields:
                await change_cli_rule(self.w, row, values)
                self.record("update", what, fields)

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
            await drop_route(self.w, r)
            self.record("delete", f"route {_route_label(r.tech_prefix)}{of}")
        return [(spec.routes[i], pairs[i]) for i in range(len(spec.routes))]

    async def route(self, path: str, data: RouteInput, row: RouteRow | None, customer,
                    position: int) -> None:
        what = f"route [{position}] {_route_label(data.tech_prefix)} of {customer.name}"
        after = _route_view(data) | {"position": position}
        if row is not None:
            fields = _diff(_route_view(row) | {"position": row.position}, after)
            if not fields:
                return
        try:
            res = await resolve_route(self.s, customer, data, None if row is None else row.id)
        except ValidationError as exc:
            self.fail(path, exc)
            return
        if row is None:
            await add_route(self.w, customer.id, data, res, position)
            self.record("create", what)
        else:
            await change_route(self.w, row, data, res, position)
            self.record("update", what, fields)

    # -- IP auth and SIP users --------------------------------------------------------------
    async def ip_auth(self, path: str, entry, row, cid: int, of: str) -> None:
        what = f"ip_auth {entry.host} ({entry.direction}){of}"
        fields = () if row is None else _diff({f: getattr(row, f) for f in IP_FIELDS},
                                              asdict(entry))
        if row is not None and not fields:
            return
        # wide or shared ingress IPs: warned about, and the file refused unless accepted
        warnings = await auth_warnings(self.s, cid, entry, None if row is None else row.id)
        try:
            if row is None:
                await add_ip_auth(self.w, cid, entry)
            else:
                await change_ip_auth(self.w, row, entry)
        except ValidationError as exc:
            self.fail(path, exc)
            return
        self.record("update" if row is not None else "create", what, fields)
        for warning in warnings:
            self.report.warnings.append(f"{path}.host: {warning}")
            self.report.auth_warnings += 1

    async def sip_user(self, spec: SipUserSpec, cid: int, of: str) -> None:
        data = spec.data
        row = self.pre.usernames.get(data.username.lower())
        what = f"sip_user {data.username}{of}"
        values = {"username": data.username, **{f: getattr(data, f) for f in SIP_FIELDS}}
        secret = self.secrets[data.username.lower()]
        if row is None:
            if secret.stored is None:
                self.report.errors.append(
                    f"{spec.path}.password: required for a new SIP user (or generate: true, "
                    "or ha1 and password_hash from `config export --with-secrets`)")
                return
            try:
                await add_sip_user(self.w, cid, values, secret.stored)
            except ValidationError as exc:
                self.fail(spec.path, exc)
                return
            self.record("create", what)
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
        values["customer_id"] = cid
        before = {k: getattr(row, k) for k in (*values, *SECRET_FIELDS)}
        after = values | (stored or {})
        fields = _diff(before, after)
        if not fields:
            return
        if row.customer_id != cid:  # moved here from another customer: say from whom
            was = (await customer_by_id(self.s, row.customer_id)).name
            fields = tuple(("customer", was, of[4:]) if f == "customer_id" else (f, b, a)
                           for f, b, a in fields)
        try:
            await change_sip_user(self.w, row, after)
        except ValidationError as exc:
            self.fail(spec.path, exc)
            return
        self.record("update", what, fields)

    # -- deletes ----------------------------------------------------------------------------
    async def deletes(self, doc: Document) -> None:
        """Cards a provider's `cards` list no longer holds; with prune also the providers
        (with their cards), customer cards and scripts the document does not name. What is
        still in use (by routes, or a provider card as a customer card's parent) is refused
        by the same checks as the forms' deletes."""
        doomed = list(self.doomed_cards)
        named_providers = {p.data.name.lower() for p in doc.providers}
        gone = []
        if self.prune:
            named = {c.data.name.lower() for c in doc.cards()}
            gone = [p for key, p in (await providers_by_name(self.s)).items()
                    if key not in named_providers]
            gone_ids = {p.id for p in gone}
            for row in (await cards_by_name(self.s)).values():
                if row.direction == "customer" and row.name.lower() not in named:
                    doomed.append(("rate_cards", row))
                elif row.direction == "provider" and row.provider_id in gone_ids:
                    doomed.append(("providers", row))
        # customer cards first: a provider card whose customer cards go too may then go
        doomed.sort(key=lambda d: d[0] != "rate_cards")
        for path, row in doomed:
            name = row.name
            try:
                await drop_card(self.w, row)
            except ValidationError as exc:
                self.report.errors.append(f"{path}: rate card '{name}' is "
                                          f"{exc.errors['name']}: cannot delete it")
                continue
            self.record("delete", f"rate card {name}")
        if not self.prune:
            return
        for row in sorted(gone, key=lambda p: p.id):
            try:
                await drop_provider(self.w, row)
            except ValidationError:  # a card of it is still in use: reported above
                continue
            self.record("delete", f"provider {row.name}")
        scripts = {sc.data.name.lower() for sc in doc.scripts}
        for key, row in (await scripts_by_name(self.s)).items():
            if key in scripts:
                continue
            try:
                await drop_script(self.w, row)
            except ValidationError as exc:
                self.report.errors.append(f"scripts: script '{row.name}' is "
                                          f"{exc.errors['name']}: cannot delete it")
                continue
            self.record("delete", f"script {row.name}")

    # -- the whole document -----------------------------------------------------------------
    async def run(self, doc: Document) -> None:
        await self.providers(doc)
        await self.scripts(doc)
        cards = await cards_by_name(self.s)
        for spec in doc.rate_cards:
            await self.card(spec, cards)
        for spec in doc.cards():
            await self.card_rates(spec)
        await self.customers(doc)
        await self.deletes(doc)
        await self.w.finish()


class _Existing:
    """The rows of the document's existing customers, read in a few queries before any of
    them is changed (each customer's rows are only changed in that customer's step)."""

    def __init__(self) -> None:
        self.ip_auth: dict[int, list] = {}
        self.sip_users: dict[int, list] = {}
        self.cli_rules: dict[int, list] = {}
        self.routes: dict[int, list[RouteRow]] = {}
        self.usernames: dict[str, object] = {}  # lower-case username -> user, any customer

    async def load(self, s, ids: list[int], usernames: list[str]) -> None:
        self.ip_auth, self.sip_users = await auth_rows_of(s, ids)
        self.cli_rules = await cli_rules_of(s, ids)
        self.routes = await routes_of(s, ids)
        self.usernames = await sip_users_named(s, usernames)


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
    """Apply the YAML file at `path`; see the module doc. OSError if unreadable,
    config_yaml.UnreadableConfig if too big to read. A new or moved ingress IP that is
    wide or shared (data.auth.auth_warnings) is a warning, and the file is refused
    (report.refused) unless `allow_wide_auth`."""
    actor.require("write")
    path = Path(path)
    try:
        text = cy.read_bounded(path)
    except cy.UnreadableConfig:
        raise
    except cy.ConfigFileError as exc:
        return ApplyReport(errors=exc.errors)
    doc, errors = read_document(text, path.parent)
    if errors:
        return ApplyReport(errors=errors)
    secrets = await _prepare_secrets(db, doc)
    async with db.sessions() as s:  # leaving without commit rolls everything back
        applier = _Applier(ConfigWrites(s, actor, clock()), prune, secrets)
        await applier.run(doc)
        report = applier.report
        report.allowed = allow_wide_auth
        if report.errors or report.refused or dry_run:
            report.passwords.clear()  # never stored: do not show them
            return report
        await s.commit()
        report.written = True
        return report
