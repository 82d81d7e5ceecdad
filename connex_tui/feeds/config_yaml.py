"""The routing-configuration YAML document (docs/config-format.md): its sections and
fields, and the YAML dialect it is read and written in.

Reading: only `true`/`false` and `null`/`~`/empty are typed; every other plain scalar
stays the exact text written (`0044` is not the octal 36, `0.0125` is not a float, `NO`
is Norway), and the shared validators turn text into values. Writing: money as strings,
multi-line text as literal blocks, one flow-style line per rate row.
"""

from __future__ import annotations

import yaml

from connex_tui.engine.routing_validation import IpAuthInput, RouteInput
from connex_tui.engine.validation import CustomerInput

SECTIONS = ("providers", "rate_cards", "scripts", "customers")
RATE_FIELDS = ("prefix", "destination", "rate", "connect_fee", "increment", "blocked",
               "effective_from")
PROVIDER_FIELDS = ("name", "status", "host", "channels", "flow_speed", "cards")
CARD_FIELDS = ("name", "currency", "precision", "rounding")
PROVIDER_CARD_FIELDS = (*CARD_FIELDS, "rates", "rates_csv")
CUSTOMER_CARD_FIELDS = (*CARD_FIELDS, "parents", "rates", "rates_csv")
SCRIPT_FIELDS = ("name", "body", "rules")
CUSTOMER_OWN_FIELDS = tuple(CustomerInput.__dataclass_fields__)
CUSTOMER_LISTS = ("ip_auth", "sip_users", "routes", "cli_rules")
CUSTOMER_FIELDS = (*CUSTOMER_OWN_FIELDS, *CUSTOMER_LISTS)
IP_AUTH_FIELDS = tuple(IpAuthInput.__dataclass_fields__)
SIP_USER_FIELDS = ("username", "channels", "flow_speed", "ip_whitelist", "password",
                   "generate", "ha1", "password_hash")
ROUTE_FIELDS = tuple(RouteInput.__dataclass_fields__)
CLI_RULE_FIELDS = ("cli", "rewrite_cli", "p_asserted_id", "forced")

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_STR = "tag:yaml.org,2002:str"
_PLAIN_TAGS = {**dict.fromkeys(("", "~", "null", "Null", "NULL"), _NULL),
               **dict.fromkeys(("true", "True", "TRUE", "false", "False", "FALSE"), _BOOL)}


class _Loader(_BaseLoader):
    def resolve(self, kind, value, implicit):
        """Plain scalars: null and booleans as YAML 1.2 spells them, all else text."""
        if kind is yaml.ScalarNode:
            return _PLAIN_TAGS.get(value, _STR) if implicit[0] else _STR
        return super().resolve(kind, value, implicit)


class ConfigFileError(Exception):
    """The file is not a YAML document of the expected shape (before any field check)."""


def load(text: str):
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigFileError(f"{where}not valid YAML: {problem}") from None


class FlowMap(dict):
    """A mapping written on one line: `{prefix: '44', rate: '0.01', ...}`."""


class FlowList(list):
    """A short list written on one line: `[PCMU, PCMA, G729]`."""


class _Dumper(_BaseDumper):
    def ignore_aliases(self, data) -> bool:
        return True


def _str(dumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _flow(dumper, value: FlowMap):
    return dumper.represent_mapping("tag:yaml.org,2002:map", value.items(), flow_style=True)


def _flow_list(dumper, value: FlowList):
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=True)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(FlowMap, _flow)
_Dumper.add_representer(FlowList, _flow_list)


def dump(document: dict) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     default_flow_style=False, width=4096)  # no folding: one rate row per line
