"""The one DID validator (docs/domain.md §11): the DID form, `connex-tui did add` (one number,
or a CSV of them) and the tests get the same messages from here.

A number is kept as its E.164 digits (no `+`): "+44 20 7946 0000", "0044 20 7946 0000" and
"442079460000" are the same DID, and a number phonenumbers does not know as valid is
refused. A destination is one of:

- `sip:USER@HOST[:PORT]` - a SIP URI (HOST: a name, an IPv4 address or [IPv6]);
- `HOST:PORT` - an address and port (IPv4, a name, or [IPv6]:PORT);
- `ext:CUSTOMER/EXTENSION` - an extension of a customer of ours (the name as on the
  list; data/dids checks that it exists), EXTENSION 1-16 digits, `*` or `#`.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from decimal import Decimal

from connex_tui.engine.validation import (
    _Collector,
    boolean,
    integer,
    money,
    text,
)

MAX_DURATION = 86_400  # a day: the longest call a DID may carry, in seconds
DEFAULT_MAX_DURATION = 7200
DESTINATION_FIELDS = ("destination", "destination2", "destination3")
DESTINATION_HELP = "sip:user@host[:port], host:port or ext:CUSTOMER/1234"

_HOST_RE = re.compile(r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                      r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")
_USER_RE = re.compile(r"[A-Za-z0-9\-_.!~*'()&=+$,;?/%]{1,64}")
_EXT_RE = re.compile(r"[0-9*#]{1,16}")
_PORT_RE = re.compile(r"[0-9]{1,5}")
_NUMBER_JUNK = re.compile(r"[\s\-.()/]")


@dataclass(frozen=True, slots=True)
class DidInput:
    number: str  # E.164 digits, no +
    destination: str = ""
    destination2: str = ""
    destination3: str = ""
    monthly_cost: Decimal = Decimal(0)
    monthly_retail: Decimal = Decimal(0)
    max_duration: int = DEFAULT_MAX_DURATION
    enabled: bool = True
    provider_card: str = ""  # a provider card's name (its provider is the DID's): "" none
    customer_card: str = ""  # a customer card's name: "" none

    def ext_customers(self) -> list[str]:
        """The customer names its `ext:` destinations name (data/ checks they exist)."""
        return [ext_customer(d) for d in self.destinations() if d.startswith("ext:")]

    def destinations(self) -> tuple[str, ...]:
        return (self.destination, self.destination2, self.destination3)


def e164(value: str) -> str:
    """The E.164 digits of a number as typed; ValueError with the operator's message."""
    raw = (value or "").strip()
    if not raw:
        raise ValueError("required")
    if len(raw) > 40:
        raise ValueError("at most 40 characters")
    compact = _NUMBER_JUNK.sub("", raw)
    if compact.startswith("00"):
        compact = compact[2:]
    compact = compact.removeprefix("+")
    if not compact.isascii() or not compact.isdigit():
        raise ValueError("a phone number in international form, like +44 20 7946 0000")
    if len(compact) > 15:
        raise ValueError("an E.164 number has at most 15 digits")
    import phonenumbers  # 40 ms of metadata: not at start-up

    try:
        parsed = phonenumbers.parse("+" + compact, None)
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number (give the country code: +44 20 ...)") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError(f"+{compact} is not a valid number for its country")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)[1:]


def _port(raw: str) -> None:
    if not _PORT_RE.fullmatch(raw) or not 1 <= int(raw) <= 65535:
        raise ValueError("the port must be 1-65535")


def _host_port(raw: str, *, port_required: bool) -> None:
    """HOST[:PORT] with HOST a name, IPv4 or [IPv6] (a bare IPv6 only without a port)."""
    if raw.startswith("["):
        inside, _, rest = raw[1:].partition("]")
        try:
            ipaddress.IPv6Address(inside)
        except ValueError:
            raise ValueError(f"[{inside}] is not an IPv6 address") from None
        if rest:
            if not rest.startswith(":"):
                raise ValueError("after [IPv6] comes :PORT")
            _port(rest[1:])
        elif port_required:
            raise ValueError("give the port: [IPv6]:5060")
        return
    if raw.count(":") > 1:  # a bare IPv6 address
        try:
            ipaddress.IPv6Address(raw)
        except ValueError:
            raise ValueError("an IPv6 address with a port is written [2001:db8::1]:5060") \
                from None
        if port_required:
            raise ValueError("give the port: [IPv6]:5060")
        return
    host, colon, port = raw.partition(":")
    if colon:
        _port(port)
    elif port_required:
        raise ValueError(f"give the port: {host}:5060 (or sip:user@{host})")
    if not _HOST_RE.fullmatch(host):
        raise ValueError(f"{host or 'the host'} is not a host name or IP address")


def ext_customer(value: str) -> str:
    return value[4:].rpartition("/")[0]


def destination(value: str, *, required: bool = False) -> str:
    """One destination in one of the three forms (see the module's docstring)."""
    raw = text(value, max_len=255, single_line=True)
    if not raw:
        if required:
            raise ValueError(f"required: {DESTINATION_HELP}")
        return ""
    low = raw.lower()
    if " " in raw and not low.startswith("ext:"):  # a customer's name may have spaces
        raise ValueError(f"no spaces: {DESTINATION_HELP}")
    if low.startswith("sip:"):
        user, at, host = raw[4:].rpartition("@")
        if not at or not _USER_RE.fullmatch(user):
            raise ValueError("a SIP URI is sip:user@host[:port]")
        _host_port(host, port_required=False)
        return "sip:" + raw[4:]
    if low.startswith("ext:"):
        name, slash, ext = raw[4:].rpartition("/")
        if not slash or not name.strip() or not _EXT_RE.fullmatch(ext):
            raise ValueError("an extension is ext:CUSTOMER/1234 (digits, * or #)")
        if len(name) > 100:
            raise ValueError("a customer name has at most 100 characters")
        return "ext:" + raw[4:]
    _host_port(raw, port_required=True)
    return raw


def margin(cost: Decimal, retail: Decimal) -> Decimal:
    """What a DID earns a month: retail - cost (negative when sold below cost)."""
    return retail - cost


def card_name(value: str) -> str:
    return text(value, max_len=100, single_line=True)


def max_duration(value: str | int) -> int:
    if isinstance(value, str) and not value.strip():
        raise ValueError(f"required: seconds, 1 to {MAX_DURATION}")
    return integer(value, minimum=1, maximum=MAX_DURATION)


def validate_did(raw: dict) -> DidInput:
    c = _Collector()
    out = DidInput(
        number=c.check("number", e164, str(raw.get("number", ""))),
        destination=c.check("destination", destination, raw.get("destination", "")),
        destination2=c.check("destination2", destination, raw.get("destination2", "")),
        destination3=c.check("destination3", destination, raw.get("destination3", "")),
        monthly_cost=c.check("monthly_cost", money, raw.get("monthly_cost", "0"),
                             minimum=Decimal(0)),
        monthly_retail=c.check("monthly_retail", money, raw.get("monthly_retail", "0"),
                               minimum=Decimal(0)),
        max_duration=c.check("max_duration", max_duration,
                             raw.get("max_duration", str(DEFAULT_MAX_DURATION))),
        enabled=c.check("enabled", boolean, raw.get("enabled", True)),
        provider_card=c.check("provider_card", card_name, raw.get("provider_card", "")),
        customer_card=c.check("customer_card", card_name, raw.get("customer_card", "")),
    )
    if not c.errors and not out.destination and (out.destination2 or out.destination3):
        c.errors["destination"] = "the failover destinations need a first destination"
    c.raise_if_any()
    return out

