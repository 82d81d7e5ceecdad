"""The routing-configuration YAML document (docs/config-format.md): its sections and
fields, and the YAML dialect it is read and written in.

Reading: only `true`/`false` and `null`/`~`/empty are typed; every other plain scalar
stays the exact text written (`0044` is not the octal 36, `0.0125` is not a float, `NO`
is Norway), and the shared validators turn text into values. The file is hostile until
checked: its size is bounded before parsing, and the parsed node graph before any object
is built (aliases may add at most ALIAS_BUDGET values, nesting is capped, a key given twice
and any tag but text, yes/no, null, list and mapping are refused, each naming its path).
Writing: money as strings, multi-line text as literal blocks, one flow-style line per rate
row.
"""

from __future__ import annotations

import os
from pathlib import Path

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
# The value each field takes (any other field is one line of text). Lists of entities
# (cards, rates, ip_auth, ...) are read by config_doc itself.
BOOL_FIELDS = frozenset(("blocked", "portal_access", "profit_assurance", "block_connect_cost",
                         "enabled", "forced", "generate"))
MULTILINE_FIELDS = frozenset(("address", "notes_public", "notes_private", "body"))
LINES_FIELDS = frozenset(("parents", "codecs", "ip_whitelist", "dial_string", "lock_cards",
                          "exclude_cards", "strategy"))  # a list of lines, or one text
ENTITY_LISTS = frozenset(("cards", "rates", *CUSTOMER_LISTS))

MAX_FILE_BYTES = 32 << 20  # ~25,000 customers with routes; big rate decks go in rates_csv
ALIAS_BUDGET = 10_000  # values that anchors/aliases may add to what the file spells out
MAX_DEPTH = 64  # the format nests ~8 deep (scripts' rules a few more)
MAX_ERRORS = 50

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_STR = "tag:yaml.org,2002:str"
_PLAIN_TAGS = {**dict.fromkeys(("", "~", "null", "Null", "NULL"), _NULL),
               **dict.fromkeys(("true", "True", "TRUE", "false", "False", "FALSE"), _BOOL)}


_TAGS = {_NULL: "null", _BOOL: "yes/no", _STR: "text", "tag:yaml.org,2002:seq": "list",
         "tag:yaml.org,2002:map": "mapping"}


class ConfigFileError(Exception):
    """The file is not a YAML document of the expected shape (before any field check):
    one message per problem, each naming its line or YAML path."""

    def __init__(self, *errors: str):
        super().__init__(errors[0])
        self.errors = list(errors)


class UnreadableConfig(ConfigFileError):
    """The file cannot be read as a whole (too big, not a file): a bad argument."""


def _key_text(node) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else "?"


def check_nodes(root) -> list[str]:
    """Problems of a composed node graph, found before any object is built: a walk of the
    graph with aliases expanded, stopped once they add more than ALIAS_BUDGET values (so
    an alias bomb costs a few ms, not gigabytes), nesting past MAX_DEPTH, tags other than
    the five this format uses (`!!binary`, `!!python/...`, `!custom`), duplicate keys."""
    errors: list[str] = []
    seen: set[int] = set()
    visits = 0
    stack = [(root, "", 0)]
    while stack and len(errors) < MAX_ERRORS:
        node, path, depth = stack.pop()
        visits += 1
        seen.add(id(node))
        if visits - len(seen) > ALIAS_BUDGET:
            return [f"line {node.start_mark.line + 1}: anchors and aliases expand to more "
                    f"than {ALIAS_BUDGET:,} extra values (an alias bomb?): write the "
                    "values out"]
        where = path or "document"
        if depth > MAX_DEPTH:  # the path would be as long: name the line
            return [f"line {node.start_mark.line + 1}: nested more than {MAX_DEPTH} levels "
                    "deep (a recursive alias?)"]
        if node.tag not in _TAGS:
            errors.append(f"{where}: the tag {node.tag.replace('tag:yaml.org,2002:', '!!')} "
                          "is not allowed here (write plain text)")
            continue
        if isinstance(node, yaml.SequenceNode):
            stack.extend((item, f"{path}[{i}]", depth + 1)
                         for i, item in reversed(list(enumerate(node.value))))
        elif isinstance(node, yaml.MappingNode):
            lines: dict[tuple, int] = {}
            children = []
            for key, value in node.value:
                name = _key_text(key)
                child = f"{path}.{name}" if path else name
                line = key.start_mark.line + 1
                if not isinstance(key, yaml.ScalarNode):
                    children.append((key, f"{child} (key)", depth + 1))
                elif (key.tag, key.value) in lines:
                    errors.append(f"{child}: given twice (lines {lines[key.tag, key.value]} "
                                  f"and {line}): keep one")
                else:
                    lines[key.tag, key.value] = line
                children.append((value, child, depth + 1))
            stack.extend(reversed(children))
    return errors


class _Loader(_BaseLoader):
    def resolve(self, kind, value, implicit):
        """Plain scalars: null and booleans as YAML 1.2 spells them, all else text."""
        if kind is yaml.ScalarNode:
            return _PLAIN_TAGS.get(value, _STR) if implicit[0] else _STR
        return super().resolve(kind, value, implicit)

    def get_single_node(self):
        node = super().get_single_node()
        if node is not None:
            errors = check_nodes(node)
            if errors:
                raise ConfigFileError(*errors)
        return node


def read_bounded(path: str | Path) -> str:
    """The text of a YAML file, refused (UnreadableConfig) past MAX_FILE_BYTES before any
    of it is parsed; reads a FIFO or device no further than that either. OSError if it
    cannot be opened."""
    with open(path, "rb") as fh:
        if os.path.isdir(path):
            raise UnreadableConfig("is a directory, not a YAML file")
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise UnreadableConfig(f"larger than {MAX_FILE_BYTES >> 20} MiB: split the document "
                               "or move big rate decks to rates_csv files")
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise ConfigFileError(f"byte {exc.start}: not UTF-8 text") from None


def load(text: str):
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigFileError(f"{where}not valid YAML: {problem}") from None
    except RecursionError:
        raise ConfigFileError(f"nested more than {MAX_DEPTH} levels deep") from None


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
