"""Validators of a customer's authentication (docs/domain.md §6): IP-auth entries and SIP
users. Re-exported by routing_validation, the one import place for routing validators."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from connex_tui.engine import route_fields as f
from connex_tui.engine.textsafe import refuse_controls, safe_text
from connex_tui.engine.validation import _Collector, boolean, choice, integer, text

AUTH_DIRECTIONS = ("ingress", "egress")
PROTOCOLS = ("udp", "tcp", "tls")
DIAL_PATTERNS = ("e164", "national", "tech_prefix")
CODECS = ("PCMU", "PCMA", "G729", "G722", "OPUS", "GSM", "iLBC", "AMR", "AMR-WB")
DEFAULT_CODECS = "PCMU,PCMA,G729"
SIP_PASSWORD_MIN = 12
_USERNAME_RE = re.compile(r"[A-Za-z0-9._-]{3,64}")


@dataclass(frozen=True, slots=True)
class IpAuthInput:
    host: str  # normal form: address, CIDR network, or (egress) lower-case host name
    direction: str = "ingress"
    channels: int = 0
    flow_speed: int = 0
    codecs: str = DEFAULT_CODECS  # comma separated, canonical spelling
    manufacturer: str = ""
    sw_version: str = ""
    protocol: str = "udp"
    port: int = 5060
    dial_pattern: str = "e164"
    cli_prefix: str = ""
    tech_prefix: str = ""
    strip_digits: int = 0
    bandwidth: int = 0
    force_from: str = ""


def codecs(value) -> str:
    if isinstance(value, list | tuple):
        value = ",".join(f.plain(v) for v in value)
    known = {name.lower(): name for name in CODECS}
    out: list[str] = []
    for item in re.split(r"[\s,]+", f.plain(value).strip()):
        if not item:
            continue
        name = known.get(item.lower())
        if name is None:
            raise ValueError(f"unknown codec '{safe_text(item)}' (known: {' '.join(CODECS)})")
        if name not in out:
            out.append(name)
    if not out:
        raise ValueError("choose at least one codec")
    return ",".join(out)


def validate_ip_auth(raw: dict) -> IpAuthInput:
    c = _Collector()
    direction = c.check("direction", choice,
                        f.plain(raw.get("direction", "")).strip().lower() or "ingress",
                        AUTH_DIRECTIONS)
    protocol = c.check("protocol", choice,
                       f.plain(raw.get("protocol", "")).strip().lower() or "udp", PROTOCOLS)
    port = f.plain(raw.get("port", "")).strip() or ("5061" if protocol == "tls" else "5060")
    out = IpAuthInput(
        host=c.check("host", f.auth_host, raw.get("host", ""),
                     allow_hostname=direction == "egress"),
        direction=direction,
        channels=c.check("channels", integer, raw.get("channels", "0")),
        flow_speed=c.check("flow_speed", integer, raw.get("flow_speed", "0")),
        codecs=c.check("codecs", codecs, raw.get("codecs", DEFAULT_CODECS)),
        manufacturer=c.check("manufacturer", text, f.plain(raw.get("manufacturer", "")),
                             max_len=100, single_line=True),
        sw_version=c.check("sw_version", text, f.plain(raw.get("sw_version", "")),
                           max_len=100, single_line=True),
        protocol=protocol,
        port=c.check("port", integer, port, minimum=1, maximum=65535),
        dial_pattern=c.check("dial_pattern", choice,
                             f.plain(raw.get("dial_pattern", "")).strip().lower() or "e164",
                             DIAL_PATTERNS),
        cli_prefix=c.check("cli_prefix", f.digits, raw.get("cli_prefix", ""), extra="*#",
                           what="digits, * and #"),
        tech_prefix=c.check("tech_prefix", f.digits, raw.get("tech_prefix", ""), extra="*#",
                            what="digits, * and #"),
        strip_digits=c.check("strip_digits", integer, raw.get("strip_digits", "0"),
                             maximum=20),
        bandwidth=c.check("bandwidth", integer, raw.get("bandwidth", "0")),
        force_from=c.check("force_from", text, f.plain(raw.get("force_from", "")),
                           max_len=200, single_line=True),
    )
    c.raise_if_any()
    return out


# -- what an operator must confirm (docs/domain.md §6) ------------------------------------------
# An ingress network lets every address in it call as the customer. One switch farm is a
# handful of addresses; a prefix shorter than /8 (IPv4) or /32 (IPv6) is a slip or a hole.
WIDE_PREFIX = {4: 8, 6: 32}


def _network(host: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(host, strict=False)
    except ValueError:
        return None  # a host name (egress only)


def wide_network(host: str) -> str | None:
    """Why an ingress `host` (a validated normal form) is dangerously wide, or None."""
    net = _network(host)
    if net is None or net.prefixlen >= WIDE_PREFIX[net.version]:
        return None
    if net.prefixlen == 0:
        return (f"{host} is every IPv{net.version} address: anyone on the internet could "
                "call as this customer")
    size = f"{net.num_addresses:,}" if net.version == 4 else f"2^{128 - net.prefixlen}"
    return (f"{host} covers {size} addresses (shorter than /{WIDE_PREFIX[net.version]}): "
            "anyone in it could call as this customer")


def hosts_overlap(a: str, b: str) -> bool:
    """Whether two IP-auth hosts share an address (a network holding the other, or equal)."""
    na, nb = _network(a), _network(b)
    if na is None or nb is None:
        return a == b
    return na.version == nb.version and na.overlaps(nb)


@dataclass(frozen=True, slots=True)
class SipUserInput:
    username: str
    password: str = ""  # clear text, only on its way to the hash; "" = keep (edit)
    generate: bool = False
    channels: int = 0
    flow_speed: int = 0
    ip_whitelist: str = ""  # normalised CIDRs, one per line; empty = any

    def __repr__(self) -> str:  # keep the clear password out of logs and tracebacks
        return (f"SipUserInput(username={self.username!r}, password=<hidden>, "
                f"generate={self.generate!r}, channels={self.channels!r}, "
                f"flow_speed={self.flow_speed!r}, ip_whitelist={self.ip_whitelist!r})")


def username(value) -> str:
    raw = f.plain(value).strip()
    if not raw:
        raise ValueError("required")
    if not _USERNAME_RE.fullmatch(raw):
        raise ValueError("3 to 64 characters: letters, digits, . _ -")
    return raw


def sip_password(value: str, *, required: bool) -> str:
    raw = f.plain(value)  # not stripped: spaces may be part of a password
    if not raw:
        if required:
            raise ValueError("required (or choose generate)")
        return ""
    if len(raw) > 128:
        raise ValueError("at most 128 characters")
    refuse_controls(raw)
    if len(raw) < SIP_PASSWORD_MIN:
        raise ValueError(f"at least {SIP_PASSWORD_MIN} characters")
    return raw


def validate_sip_user(raw: dict, *, creating: bool) -> SipUserInput:
    c = _Collector()
    generate = c.check("generate", boolean, raw.get("generate", False))
    password = c.check("password", sip_password, raw.get("password", ""),
                       required=creating and not generate)
    if generate and password:
        c.errors.setdefault("password", "leave empty to generate one")
    out = SipUserInput(
        username=c.check("username", username, raw.get("username", "")),
        password=password or "",
        generate=bool(generate),
        channels=c.check("channels", integer, raw.get("channels", "0")),
        flow_speed=c.check("flow_speed", integer, raw.get("flow_speed", "0")),
        ip_whitelist=c.check("ip_whitelist", f.networks, raw.get("ip_whitelist", "")),
    )
    c.raise_if_any()
    return out
