"""Field checks shared by the routing validators (docs/domain.md §3-§6): hosts, digit strings,
name lists, increments, dates, regexes, and the strategy text form a route form edits.

Each check takes a raw value (form text, or the int/list/date a YAML document holds) and
returns the normal form, or raises ValueError with the message the operator sees.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from connex_tui.engine.regex_guard import GuardedPattern, compile_guarded
from connex_tui.engine.textsafe import refuse_controls, safe_text
from connex_tui.engine.validation import MAX_INT, integer

STRATEGY_MODES = ("lcr", "reverse_lcr", "priority", "weighted", "round_robin", "drop")
CARD_MODES = ("priority", "weighted")  # the modes whose rows list cards
MAX_PREFIX = 32
_LABEL_RE = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_SPLIT_RE = re.compile(r"[\s,]+")


def plain(value) -> str:
    """A scalar as text: YAML hands over ints for digit fields (`tech_prefix: 44`). Never
    raises (callers use it outside the field collector); odd types fail the field check."""
    return "" if value is None else str(value)


def digits(value, *, extra: str = "", max_len: int = MAX_PREFIX, required: bool = False,
           what: str = "digits") -> str:
    """Digits (plus the characters in `extra`, e.g. '*#' for tech prefixes)."""
    raw = plain(value).strip()
    if not raw:
        if required:
            raise ValueError("required")
        return ""
    if any(not ("0" <= ch <= "9" or ch in extra) for ch in raw):
        raise ValueError(f"only {what}")
    if len(raw) > max_len:
        raise ValueError(f"at most {max_len} characters")
    return raw


def ascii_digits(raw: str) -> bool:
    """0-9 only: str.isdigit() also takes other scripts' digits ('٤٤', '²')."""
    return raw.isascii() and raw.isdigit()


def compile_regex(pattern: str) -> GuardedPattern:
    """An operator's regex, compiled through the engine's guard (ValueError if refused)."""
    return compile_guarded(pattern)


def lines(value) -> list[str]:
    """Non-empty stripped lines of a text area (or the items of a YAML list)."""
    if isinstance(value, list | tuple):
        items = [plain(v) for v in value]
    else:
        items = plain(value).splitlines()
    return [item.strip() for item in items if item.strip()]


def names(value) -> tuple[str, ...]:
    """Card names, one per line or comma separated (names may hold spaces); duplicates
    dropped, order kept."""
    items = value if isinstance(value, list | tuple) else re.split(r"[\n,]", plain(value))
    out: list[str] = []
    for item in items:
        name = plain(item).strip()
        if name and name not in out:
            if len(name) > 100:
                raise ValueError(f"'{safe_text(name[:20])}…' is longer than 100 characters")
            out.append(refuse_controls(name))
    return tuple(out)


def hostname(value: str) -> str:
    """RFC 1123 host name, lower-cased. An all-numeric last label is refused so that a
    mistyped IP (10.0.0.300) is not taken for a name."""
    host = value.lower().rstrip(".")
    labels = host.split(".")
    if (not host or len(host) > 253 or not all(_LABEL_RE.fullmatch(x) for x in labels)
            or labels[-1].isdigit()):
        raise ValueError("not a valid IP address or host name")
    return host


def ip_or_network(value: str) -> str:
    """An IPv4/IPv6 address or CIDR network in its normal form (a /32 or /128 is the bare
    address). Host bits set in a CIDR are refused with the network meant."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    try:
        net = ipaddress.ip_network(value)
    except ValueError:
        try:
            meant = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError("not a valid IP address or CIDR network") from None
        raise ValueError(f"host bits set: did you mean {meant}?") from None
    return str(net.network_address) if net.num_addresses == 1 else str(net)


def _looks_like_ip(raw: str) -> bool:
    return ":" in raw or "/" in raw or ascii_digits(raw.replace(".", ""))


def auth_host(value, *, allow_hostname: bool) -> str:
    """IP-auth host: address or CIDR; a host name only where allowed (egress)."""
    raw = refuse_controls(plain(value).strip())
    if not raw:
        raise ValueError("required")
    if _looks_like_ip(raw):
        return ip_or_network(raw)
    name = hostname(raw)
    if not allow_hostname:
        raise ValueError("a host name is allowed for egress only: use an IP address or CIDR")
    return name


def host_port(value) -> str:
    """Provider host: IPv4, IPv6 (bracketed when a port follows) or host name, with an
    optional :port."""
    raw = refuse_controls(plain(value).strip())
    if not raw:
        return ""
    host, port = raw, None
    if raw.startswith("["):
        host, sep, rest = raw[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError("write an IPv6 address with a port as [2001:db8::1]:5060")
        port = rest[1:] or None
    elif raw.count(":") == 1:
        host, port = raw.split(":")
    if port is not None:
        try:
            port = integer(port or "x", minimum=1, maximum=65535)
        except ValueError:
            raise ValueError("port must be a number from 1 to 65535") from None
    if _looks_like_ip(host):
        try:
            host = str(ipaddress.ip_address(host))
        except ValueError:
            raise ValueError("not a valid IP address or host name") from None
    elif raw.startswith("["):
        raise ValueError("brackets are for IPv6 addresses")
    else:
        host = hostname(host)
    if port is None:
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def networks(value) -> str:
    """IP whitelist: CIDRs (or bare addresses), lines/commas/spaces; normal form, one per
    line."""
    out: list[str] = []
    for item in _SPLIT_RE.split("\n".join(lines(value))):
        if not item:
            continue
        refuse_controls(item)
        try:
            net = str(ipaddress.ip_network(item, strict=True))
        except ValueError:
            raise ValueError(f"'{item}' is not an IP address or CIDR network") from None
        if net not in out:
            out.append(net)
    return "\n".join(out)


def increment(value) -> tuple[int, int]:
    """'MCD/Pulse' such as 60/60, 30/6, 1/1: MCD ≥ 0, Pulse ≥ 1 (seconds)."""
    raw = plain(value).strip()
    if not raw:
        return 60, 60
    mcd, sep, pulse = raw.partition("/")
    if not sep:
        raise ValueError("write MCD/Pulse in seconds, e.g. 60/60 or 30/6")
    try:
        return (integer(mcd.strip() or "x", minimum=0, maximum=86_400),
                integer(pulse.strip() or "x", minimum=1, maximum=86_400))
    except ValueError as exc:
        raise ValueError(f"MCD/Pulse: {exc} (MCD ≥ 0, Pulse ≥ 1)") from None


# Dates an operator can mean: outside them datetime arithmetic overflows (year 1 minus a
# day, year 9999 in a western zone) and no rate or call belongs there anyway.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)  # exclusive
RANGE_MESSAGE = "must be between 1970-01-01 and 2199-12-31"


def moment(value, *,
           example: str = "write an ISO date like 2026-01-31 or 2026-01-31T08:00"
           ) -> datetime | None:
    """ISO date or date-time; UTC when no zone is given; empty = None (always). `example`
    is the message for text that is not one; a time outside EARLIEST..LATEST is refused.
    The one ISO-time parser: options, CSV and YAML fields and the call validator use it."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime.combine(value, time())
    else:
        raw = plain(value).strip()
        if not raw:
            return None
        if len(raw) > 40:  # the longest ISO form is 32 characters
            raise ValueError(example)
        try:
            dt = datetime.fromisoformat(raw)
        except ValueError:
            raise ValueError(example) from None
    try:
        dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59:59-14:00 is past datetime.max in UTC
        raise ValueError(RANGE_MESSAGE) from None
    if not EARLIEST <= dt < LATEST:
        raise ValueError(RANGE_MESSAGE)
    return dt


# -- route strategy ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StrategyCardInput:
    card: str  # provider-card name
    priority: int = 1
    weight: int = 1


@dataclass(frozen=True, slots=True)
class StrategyInput:
    prefix: str = ""  # empty = every number
    mode: str = "lcr"
    cards: tuple[StrategyCardInput, ...] = ()


def strategy(value) -> tuple[StrategyInput, ...]:
    """Strategy rows from their text form, one per line:
    `<prefix or *> <mode> [card[:priority[:weight]] ...]`, e.g. `44 priority UK-A:1 UK-B:2`.
    A card name with spaces is quoted ('UK A':1). A card without priority gets its place in
    the row (1, 2, ...); without weight, 1. A YAML list of {prefix, mode, cards} is also
    accepted."""
    if isinstance(value, list | tuple) and any(isinstance(v, dict) for v in value):
        numbered = [(i, _strategy_dict(i, item)) for i, item in enumerate(value, 1)]
    else:  # numbered as the operator sees the text area: blank lines count
        text = "\n".join(map(plain, value)) if isinstance(value, list | tuple) else plain(value)
        numbered = [(i, _strategy_line(i, line.strip()))
                    for i, line in enumerate(text.splitlines(), 1) if line.strip()]
    seen: dict[str, int] = {}
    for i, row in numbered:
        if row.prefix in seen:
            raise ValueError(f"line {i}: prefix {row.prefix or '*'} already on line "
                             f"{seen[row.prefix]}")
        seen[row.prefix] = i
    return tuple(row for _, row in numbered)


def _strategy_line(n: int, line: str) -> StrategyInput:
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise ValueError(f"line {n}: {exc}") from None
    if len(words) < 2:
        raise ValueError(f"line {n}: write '<prefix or *> <mode> [cards]', e.g. '* lcr'")
    cards = []
    for place, word in enumerate(words[2:], 1):
        parts = word.split(":")
        numbers: list[str] = []
        while len(parts) > 1 and len(numbers) < 2 and ascii_digits(parts[-1].strip()):
            numbers.insert(0, parts.pop())
        cards.append({"card": ":".join(parts), "priority": numbers[0] if numbers else place,
                      "weight": numbers[1] if len(numbers) > 1 else 1})
    return _strategy_row(n, words[0], words[1], cards)


def _strategy_dict(n: int, item) -> StrategyInput:
    if not isinstance(item, dict):
        raise ValueError(f"row {n}: expected prefix, mode and cards")
    cards = item.get("cards") or []
    if not isinstance(cards, list) or not all(isinstance(c, dict) for c in cards):
        raise ValueError(f"row {n}: cards must be a list of {{card, priority, weight}}")
    cards = [{"card": c.get("card"), "priority": c.get("priority", place),
              "weight": c.get("weight", 1)} for place, c in enumerate(cards, 1)]
    return _strategy_row(n, item.get("prefix", ""), item.get("mode", "lcr"), cards)


def _strategy_row(n: int, prefix, mode, cards: list[dict]) -> StrategyInput:
    where = f"line {n}"
    prefix = plain(prefix).strip()
    prefix = "" if prefix == "*" else prefix
    try:
        prefix = digits(prefix)
    except ValueError:
        raise ValueError(f"{where}: prefix must be digits or *") from None
    mode = plain(mode).strip().lower()
    if mode not in STRATEGY_MODES:
        raise ValueError(f"{where}: unknown mode '{safe_text(mode)}' (one of {', '.join(STRATEGY_MODES)})")
    if cards and mode not in CARD_MODES:
        raise ValueError(f"{where}: cards are listed for priority and weighted only")
    out: list[StrategyCardInput] = []
    for c in cards:
        name = plain(c["card"]).strip()
        if not name:
            raise ValueError(f"{where}: a card name is missing")
        try:
            refuse_controls(name)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if any(o.card == name for o in out):
            raise ValueError(f"{where}: card '{name}' listed twice")
        try:
            priority = integer(plain(c["priority"]).strip() or "x", minimum=0, maximum=MAX_INT)
            weight = integer(plain(c["weight"]).strip() or "x", minimum=0, maximum=1_000_000)
        except ValueError as exc:
            raise ValueError(f"{where}: card '{name}': priority/weight {exc}") from None
        if mode == "weighted" and weight < 1:
            raise ValueError(f"{where}: card '{name}' needs a weight of 1 or more")
        out.append(StrategyCardInput(name, priority, weight))
    return StrategyInput(prefix, mode, tuple(out))


def format_strategy(rows) -> str:
    """The text form `strategy()` reads back (rows of StrategyInput-like objects whose
    cards have .card/.priority/.weight), defaults left out."""
    out = []
    for row in rows:
        words = [row.prefix or "*", row.mode]
        for place, c in enumerate(row.cards, 1):
            word = shlex.quote(c.card)
            if c.priority != place or c.weight != 1:
                word += f":{c.priority}"
            if c.weight != 1:
                word += f":{c.weight}"
            words.append(word)
        out.append(" ".join(words))
    return "\n".join(out)
