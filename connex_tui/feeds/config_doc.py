"""Reading a routing-configuration document into validated specs (the first step of
`config apply`): shape checks, every entity through its one validator, names unique
within the document. Every error names its YAML path (`customers[3].routes[0].dial_string:
...`). No database access: references between entities are checked when applying.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from connex_tui.engine.routing_validation import (
    CliRuleInput,
    IpAuthInput,
    ProviderInput,
    RateCardInput,
    RateRowInput,
    RouteInput,
    ScriptInput,
    SipUserInput,
    validate_cli_rule,
    validate_ip_auth,
    validate_provider,
    validate_rate_card,
    validate_rate_row,
    validate_route,
    validate_script,
    validate_sip_user,
)
from connex_tui.engine.textsafe import refuse_controls
from connex_tui.engine.validation import CustomerInput, ValidationError, validate_customer
from connex_tui.feeds import config_yaml as cy
from connex_tui.feeds.rates_csv import REQUIRED, RowError, read_file

CSV_ERRORS_SHOWN = 20  # per rates_csv file; the rest are counted
_HA1_RE = re.compile(r"[0-9a-f]{32}")


@dataclass(slots=True)
class CardSpec:
    path: str
    data: RateCardInput
    rows: list[RateRowInput] | None = None  # inline rates; None with a CSV or no rates key
    csv: Path | None = None  # rates_csv, read again (streamed) when applying

    @property
    def has_rates(self) -> bool:
        return self.rows is not None or self.csv is not None


@dataclass(slots=True)
class ProviderSpec:
    path: str
    data: ProviderInput
    cards: list[CardSpec] | None  # None: the `cards` key is absent (cards left alone)


@dataclass(slots=True)
class ScriptSpec:
    path: str
    data: ScriptInput


@dataclass(slots=True)
class SipUserSpec:
    path: str
    data: SipUserInput
    ha1: str = ""
    password_hash: str = ""


@dataclass(slots=True)
class CustomerSpec:
    path: str
    data: CustomerInput
    # None: the key is absent and those rows are left alone; a list is the complete set
    ip_auth: list[tuple[str, IpAuthInput]] | None = None
    sip_users: list[SipUserSpec] | None = None
    routes: list[tuple[str, RouteInput]] | None = None
    cli_rules: list[tuple[str, CliRuleInput]] | None = None


@dataclass(slots=True)
class Document:
    providers: list[ProviderSpec] = field(default_factory=list)
    rate_cards: list[CardSpec] = field(default_factory=list)
    scripts: list[ScriptSpec] = field(default_factory=list)
    customers: list[CustomerSpec] = field(default_factory=list)

    def cards(self) -> list[CardSpec]:
        """Every card of the document: provider cards first."""
        out = [c for p in self.providers for c in (p.cards or ())]
        return out + self.rate_cards

    def usernames(self) -> set[str]:
        return {u.data.username.lower() for c in self.customers for u in (c.sip_users or ())}


class _Reader:
    def __init__(self, base: Path):
        self.base = base
        self.errors: list[str] = []
        self._names: dict[tuple[str, str], str] = {}
        self._mistyped: set[str] = set()  # fields left out for their type

    def error(self, path: str, message: str) -> None:
        self.errors.append(f"{path}: {message}")

    def invalid(self, path: str, exc: ValidationError) -> None:
        for name, message in exc.errors.items():
            if f"{path}.{name}" not in self._mistyped:  # already said why ("required")
                self.error(f"{path}.{name}", message)

    def mapping(self, value, path: str, allowed: tuple[str, ...]) -> dict | None:
        """The allowed fields of a mapping whose values have the right type; the others
        are reported (and left out, so no validator sees a list where text belongs)."""
        if not isinstance(value, dict):
            self.error(path, "expected a mapping of fields")
            return None
        out = {}
        for key, v in value.items():
            if key not in allowed:
                self.error(f"{path}.{key}", f"unknown field (fields: {', '.join(allowed)})")
            else:
                problem = _type_problem(key, v)
                if problem:
                    self.error(f"{path}.{key}", problem)
                    self._mistyped.add(f"{path}.{key}")
                else:
                    out[key] = v
        return out

    def items(self, value, path: str) -> list:
        """A list (null counts as empty)."""
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(path, "expected a list")
            return []
        return value

    def validate(self, fn, raw: dict, path: str, **kw):
        try:
            return fn(raw, **kw)
        except ValidationError as exc:
            self.invalid(path, exc)
            return None

    def unique(self, kind: str, name: str, path: str) -> None:
        """Names compare ignoring case, as the services match them."""
        seen = self._names.setdefault((kind, name.lower()), path)
        if seen != path:
            self.error(f"{path}.name" if kind != "username" else f"{path}.username",
                       f"'{name}' is also at {seen}")

    # -- sections ---------------------------------------------------------------------------
    def provider(self, value, path: str) -> ProviderSpec | None:
        m = self.mapping(value, path, cy.PROVIDER_FIELDS)
        if m is None:
            return None
        data = self.validate(validate_provider, _without(m, ("cards",)), path)
        cards = None
        if "cards" in m:
            cards = [self.card(v, f"{path}.cards[{i}]", provider=m.get("name") or "")
                     for i, v in enumerate(self.items(m["cards"], f"{path}.cards"))]
        if data is None:
            return None
        self.unique("provider", data.name, path)
        return ProviderSpec(path, data, None if cards is None else [c for c in cards if c])

    def card(self, value, path: str, *, provider: str | None = None) -> CardSpec | None:
        """A customer card, or (provider given, even empty) one of a provider's cards."""
        allowed = cy.PROVIDER_CARD_FIELDS if provider is not None else cy.CUSTOMER_CARD_FIELDS
        m = self.mapping(value, path, allowed)
        if m is None:
            return None
        raw = _without(m, ("rates", "rates_csv"))
        raw["direction"] = "customer" if provider is None else "provider"
        if provider:
            raw["provider"] = provider
        data = self.validate(validate_rate_card, raw, path)
        spec = CardSpec(path, data)
        if "rates" in m and "rates_csv" in m:
            self.error(f"{path}.rates_csv", "give rates or rates_csv, not both")
        elif "rates" in m:
            spec.rows = self.rates(m["rates"], f"{path}.rates")
        elif "rates_csv" in m:
            spec.csv = self.rates_csv(m["rates_csv"], f"{path}.rates_csv")
        if data is None:
            return None
        self.unique("card", data.name, path)
        return spec

    def rates(self, value, path: str) -> list[RateRowInput]:
        rows: list[RateRowInput] = []
        seen: dict[tuple, int] = {}
        for i, item in enumerate(self.items(value, path)):
            m = self.mapping(item, f"{path}[{i}]", cy.RATE_FIELDS)
            row = self.validate(validate_rate_row, m, f"{path}[{i}]") if m is not None else None
            if row is None:
                continue
            key = (row.prefix, row.effective_from)
            if key in seen:
                self.error(f"{path}[{i}].prefix", f"{row.prefix} with the same effective_from "
                                                  f"is also at {path}[{seen[key]}]")
                continue
            seen[key] = i
            rows.append(row)
        return rows

    def rates_csv(self, value, path: str) -> Path | None:
        """The CSV file, which must lie inside the YAML file's folder once symlinks are
        resolved: a document from elsewhere must not make apply read (and report on) any
        file the operator can read. Errors never quote the file's content."""
        if not isinstance(value, str) or not value.strip():
            self.error(path, "expected the path of a CSV file (relative to this file)")
            return None
        name = value.strip()
        folder = self.base.resolve()
        csv_path = (folder / name).resolve()
        if not csv_path.is_relative_to(folder):
            self.error(path, f"{name}: must be a file in the folder of this YAML file "
                             "(or below it)")
            return None
        if not csv_path.is_file():
            self.error(path, f"{name}: no such file")
            return None
        bad = 0
        try:
            for item in read_file(csv_path):
                if isinstance(item, RowError):
                    bad += 1
                    if bad <= CSV_ERRORS_SHOWN:
                        self.error(path, f"{name}: {_csv_problem(item)}")
        except OSError as exc:
            self.error(path, f"{name}: cannot read it: {exc.strerror}")
            return None
        if bad > CSV_ERRORS_SHOWN:
            self.error(path, f"{name}: … and {bad - CSV_ERRORS_SHOWN} more bad rows")
        return csv_path

    def script(self, value, path: str) -> ScriptSpec | None:
        m = self.mapping(value, path, cy.SCRIPT_FIELDS)
        if m is None:
            return None
        raw = _without(m, ("rules",))
        if "rules" in m:
            if "body" in m:
                self.error(f"{path}.rules", "give body or rules, not both")
                return None
            raw["body"] = yaml.safe_dump(m["rules"], sort_keys=False, allow_unicode=True)
        data = self.validate(validate_script, raw, path)
        if data is None:
            return None
        self.unique("script", data.name, path)
        return ScriptSpec(path, data)

    def customer(self, value, path: str) -> CustomerSpec | None:
        m = self.mapping(value, path, cy.CUSTOMER_FIELDS)
        if m is None:
            return None
        data = self.validate(validate_customer, _without(m, cy.CUSTOMER_LISTS), path)
        spec = CustomerSpec(path, data)
        nested = (("ip_auth", cy.IP_AUTH_FIELDS, validate_ip_auth),
                  ("routes", cy.ROUTE_FIELDS, validate_route),
                  ("cli_rules", cy.CLI_RULE_FIELDS, validate_cli_rule))
        for key, allowed, fn in nested:
            if key in m:
                setattr(spec, key, self.children(m[key], f"{path}.{key}", allowed, fn))
        if spec.ip_auth:
            seen: dict[tuple[str, str], str] = {}
            for p, entry in spec.ip_auth:
                first = seen.setdefault((entry.host, entry.direction), p)
                if first != p:
                    self.error(f"{p}.host", f"{entry.direction} {entry.host} is also at {first}")
        if "sip_users" in m:
            users = [self.sip_user(v, f"{path}.sip_users[{i}]")
                     for i, v in enumerate(self.items(m["sip_users"], f"{path}.sip_users"))]
            spec.sip_users = [u for u in users if u]
        if data is None:
            return None
        self.unique("customer", data.name, path)
        return spec

    def children(self, value, path: str, allowed: tuple[str, ...], fn) -> list[tuple]:
        out = []
        for i, item in enumerate(self.items(value, path)):
            m = self.mapping(item, f"{path}[{i}]", allowed)
            data = self.validate(fn, m, f"{path}[{i}]") if m is not None else None
            if data is not None:
                out.append((f"{path}[{i}]", data))
        return out

    def sip_user(self, value, path: str) -> SipUserSpec | None:
        m = self.mapping(value, path, cy.SIP_USER_FIELDS)
        if m is None:
            return None
        # creating or not is known only against the database: the password rule for a
        # new user is checked when applying
        data = self.validate(validate_sip_user, _without(m, ("ha1", "password_hash")), path,
                             creating=False)
        ha1, pw_hash = m.get("ha1") or "", m.get("password_hash") or ""
        if bool(ha1) != bool(pw_hash):
            missing = "password_hash" if ha1 else "ha1"
            self.error(f"{path}.{missing}", "ha1 and password_hash go together")
        elif ha1:
            if m.get("password") or m.get("generate"):
                self.error(f"{path}.password", "give a password or ha1 and password_hash, "
                                               "not both")
            if not isinstance(ha1, str) or not _HA1_RE.fullmatch(ha1):
                self.error(f"{path}.ha1", "must be 32 lower-case hex digits (an MD5)")
            if not isinstance(pw_hash, str) or len(pw_hash) > 200 or any(
                    ch.isspace() for ch in pw_hash):
                self.error(f"{path}.password_hash", "must be the stored hash as exported "
                                                    "($argon2id$...)")
        if data is None:
            return None
        self.unique("username", data.username, path)
        return SipUserSpec(path, data, str(ha1), str(pw_hash))


def _csv_problem(item: RowError) -> str:
    """A bad row as reported, except a bad first line: the header problem quotes the
    line's cells, and a wrong file's first line may be a secret (a key, a hash)."""
    if item.line == 1:
        return (f"line 1: not a rate CSV header (expected {','.join(REQUIRED)}"
                "[,effective_from][,blocked])")
    return str(item)


def _text_problem(value, *, multiline: bool) -> str:
    if not isinstance(value, str):
        return f"expected {'text' if multiline else 'one line of text'}, found {_kind(value)}"
    return _control_problem(value, multiline=multiline)


def _control_problem(value: str, *, multiline: bool) -> str:
    """The validators' one message for a control character ('' when there is none)."""
    try:
        refuse_controls(value, multiline=multiline)
    except ValueError as exc:
        return str(exc)
    return ""


def _kind(value) -> str:
    if isinstance(value, bool):
        return "yes/no"
    return "a list" if isinstance(value, list) else "a mapping" if isinstance(
        value, dict) else "text" if isinstance(value, str) else type(value).__name__


def _type_problem(key: str, value) -> str:
    """Why a field's YAML value has the wrong type for it ('' when right). A validator
    turns text into values; it must never see a list where text belongs (`cli: [1, 2]`
    would become the regex "['1', '2']") nor a control character from a hostile file."""
    if value is None or key in cy.ENTITY_LISTS:
        return ""
    if key == "rules":  # a script's rules: any structure, text without controls
        return next((p for p in map(_leaf_problem, _leaves(value)) if p), "")
    if key in cy.BOOL_FIELDS:
        if not isinstance(value, bool | str):
            return f"expected yes or no, found {_kind(value)}"
        return _control_problem(str(value), multiline=False)
    if key in cy.LINES_FIELDS:
        if isinstance(value, str):
            return _text_problem(value, multiline=True)
        if not isinstance(value, list):
            return f"expected a list of lines, found {_kind(value)}"
        for i, item in enumerate(value):
            if key == "strategy" and isinstance(item, dict):  # a structured strategy row
                problem = next((p for p in map(_leaf_problem, _leaves(item)) if p), "")
            else:
                problem = _text_problem(item, multiline=False)
            if problem:
                return f"[{i}]: {problem}"
        return ""
    return _text_problem(value, multiline=key in cy.MULTILINE_FIELDS)


def _leaves(value):
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def _leaf_problem(value) -> str:
    return _control_problem(value, multiline=True) if isinstance(value, str) else ""


def _without(m: dict, keys: tuple[str, ...]) -> dict:
    return {k: v for k, v in m.items() if k not in keys}


def read_document(text: str, base: Path) -> tuple[Document, list[str]]:
    """Specs of a YAML document (rates_csv paths relative to `base`) and the errors found.
    A document with errors must not be applied."""
    reader = _Reader(base)
    doc = Document()
    try:
        top = cy.load(text)
    except cy.ConfigFileError as exc:
        return doc, exc.errors
    if top is None:
        top = {}
    if not isinstance(top, dict):
        return doc, [f"expected a mapping with the lists {', '.join(cy.SECTIONS)}"]
    for key in top:
        if key not in cy.SECTIONS:
            reader.error(str(key), f"unknown section (sections: {', '.join(cy.SECTIONS)})")
    for section, read in (("providers", reader.provider), ("rate_cards", reader.card),
                          ("scripts", reader.script), ("customers", reader.customer)):
        specs = [read(v, f"{section}[{i}]")
                 for i, v in enumerate(reader.items(top.get(section), section))]
        setattr(doc, section, [x for x in specs if x is not None])
    return doc, reader.errors
