"""`config export`: the whole routing configuration as one YAML document
(docs/config-format.md), read in one session so that it is one consistent picture.

Archived customers are left out. With a target file, cards holding more than `inline_max`
rows are written as CSV files beside it (`<name>.rates/<card>.csv`, referenced by
`rates_csv`); on standard output every card's rows are inline.

SIP users' secrets (ha1, password_hash) are written only when asked for, by an actor who
may write: an HA1 alone answers a SIP digest challenge, so it is a credential, and the one
use of an export holding it (restoring with `config apply`) needs that role anyway.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from connex_tui.data.access import SYSTEM, Actor
from connex_tui.data.auth import auth_rows_of
from connex_tui.data.cli_rules import cli_rules_of
from connex_tui.data.config_write import moment_text, plain_decimal
from connex_tui.data.customers import unarchived_customers
from connex_tui.data.db import Database
from connex_tui.data.providers import provider_rows
from connex_tui.data.rate_cards import card_rows
from connex_tui.data.rate_rows import stream_rows
from connex_tui.data.routes import routes_of
from connex_tui.data.scripts import script_rows
from connex_tui.feeds import config_yaml as cy
from connex_tui.feeds.rates_csv import write_card_csv

INLINE_MAX = 1000
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _money(value) -> str | None:
    return None if value is None else plain_decimal(value)


class _CsvFiles:
    """Side files for big cards: one name per card, unique even on a case-blind disk."""

    def __init__(self, yaml_path: Path):
        self.base = yaml_path.parent
        self.folder = Path(f"{yaml_path.stem}.rates")
        self.taken: set[str] = set()

    def path_for(self, card: str) -> Path:
        stem = _UNSAFE.sub("_", card).strip("._") or "card"
        name, n = f"{stem}.csv", 1
        while name.lower() in self.taken:
            n += 1
            name = f"{stem}-{n}.csv"
        self.taken.add(name.lower())
        return self.folder / name


async def _rates(s, card, files: _CsvFiles | None, inline_max: int) -> dict:
    if files is not None and card.rows > inline_max:
        rel = files.path_for(card.name)
        target = files.base / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "w", encoding="utf-8", newline="") as fh:
            await write_card_csv(s, card.id, fh)
        return {"rates_csv": rel.as_posix()}
    rows = []
    async for part in stream_rows(s, card.id):
        for r in part:
            rows.append(cy.FlowMap(
                prefix=r.prefix, destination=r.destination, rate=plain_decimal(r.rate),
                connect_fee=plain_decimal(r.connect_fee), increment=f"{r.mcd}/{r.pulse}",
                blocked=r.blocked, effective_from=moment_text(r.effective_from) or None))
    return {"rates": rows}


async def build_document(s, *, yaml_path: Path | None = None,
                         inline_max: int = INLINE_MAX, secrets: bool = False) -> dict:
    files = _CsvFiles(yaml_path) if yaml_path is not None else None
    cards = await card_rows(s)
    by_provider: dict[int, list] = defaultdict(list)
    for card in cards:
        if card.direction == "provider":
            by_provider[card.provider_id].append(card)

    def card_head(card) -> dict:
        return {"name": card.name, "currency": card.currency, "precision": card.precision,
                "rounding": card.rounding}

    providers = []
    for p in await provider_rows(s):
        provider_cards = [{**card_head(c), **await _rates(s, c, files, inline_max)}
                          for c in by_provider.get(p.id, ())]
        providers.append({"name": p.name, "status": p.status, "host": p.host,
                          "channels": p.channels, "flow_speed": p.flow_speed,
                          "cards": provider_cards})
    rate_cards = [{**card_head(c), "parents": cy.FlowList(c.parents),
                   **await _rates(s, c, files, inline_max)}
                  for c in cards if c.direction == "customer"]
    scripts = [{"name": r.name, "body": r.body} for r in await script_rows(s)]
    return {"providers": providers, "rate_cards": rate_cards, "scripts": scripts,
            "customers": await _customers(s, secrets)}


async def _customers(s, secrets: bool) -> list[dict]:
    customers = await unarchived_customers(s)
    ids = [c.id for c in customers]
    nested: dict[str, dict[int, list]] = {k: defaultdict(list) for k in cy.CUSTOMER_LISTS}
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        ips, users = await auth_rows_of(s, chunk)
        for e in (e for cid in chunk for e in ips.get(cid, ())):
            entry = {f: getattr(e, f) for f in cy.IP_AUTH_FIELDS}
            entry["codecs"] = cy.FlowList(e.codecs.split(",") if e.codecs else [])
            nested["ip_auth"][e.customer_id].append(entry)
        for u in sorted((u for cid in chunk for u in users.get(cid, ())),
                        key=lambda u: u.username):
            user = {"username": u.username, "channels": u.channels,
                    "flow_speed": u.flow_speed, "ip_whitelist": _lines(u.ip_whitelist)}
            if secrets:
                user |= {"ha1": u.ha1, "password_hash": u.password_hash}
            nested["sip_users"][u.customer_id].append(user)
        routes = await routes_of(s, chunk)
        for r in (r for cid in chunk for r in routes.get(cid, ())):
            nested["routes"][r.customer_id].append({
                "rate_card": r.rate_card, "tech_prefix": r.tech_prefix,
                "dial_string": _lines(r.dial_string), "capped_rate": _money(r.capped_rate),
                "provider_capped_rate": _money(r.provider_capped_rate),
                "profit_assurance": r.profit_assurance,
                "block_connect_cost": r.block_connect_cost, "channels": r.channels,
                "flow_speed": r.flow_speed, "max_duration": r.max_duration,
                "lock_cards": cy.FlowList(r.lock_cards),
                "exclude_cards": cy.FlowList(r.exclude_cards),
                "strategy": _lines(r.strategy), "script": r.script,
                "rtp_media_proxy": r.rtp_media_proxy, "rtp_proxy_mode": r.rtp_proxy_mode,
                "enabled": r.enabled})
        rules = await cli_rules_of(s, chunk)
        for rule in (r for cid in chunk for r in rules.get(cid, ())):
            nested["cli_rules"][rule.customer_id].append(
                {f: getattr(rule, f) for f in cy.CLI_RULE_FIELDS})
    out = []
    for c in customers:
        entry = {f: getattr(c, f) for f in cy.CUSTOMER_OWN_FIELDS}
        entry["debit_limit"] = plain_decimal(c.debit_limit)
        entry["tax_percent"] = plain_decimal(c.tax_percent)
        for key in cy.CUSTOMER_LISTS:
            entry[key] = nested[key].get(c.id, [])
        out.append(entry)
    return out


async def export_config(db: Database, yaml_path: Path | None = None, *,
                        inline_max: int = INLINE_MAX, secrets: bool = False,
                        actor: Actor = SYSTEM) -> str:
    """The YAML text of the whole routing configuration (side CSV files written when
    `yaml_path` is given and a card is big). `secrets` adds the SIP users' ha1 and
    password_hash; PermissionDenied unless `actor` may write."""
    if secrets:
        actor.require("write")
    async with db.sessions() as s:
        document = await build_document(s, yaml_path=yaml_path, inline_max=inline_max,
                                        secrets=secrets)
    return cy.dump(document)
