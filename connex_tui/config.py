"""Configuration: YAML at $XDG_CONFIG_HOME/connex-tui/config.yaml, CONNEX_* env overrides.

A broken file gives ConfigError with one line naming the file, line and key.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml

ROLES = ("viewer", "operator", "admin")


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class Config:
    database_url: str = ""
    operator: str = ""
    role: str = "admin"
    readonly: bool = False
    mouse: bool = False
    animations: bool = False
    theme: str = "ansi-dark"
    page_size: int = 100
    busy_timeout: float = 5.0  # seconds a writer waits for another writer's lock
    keymap: dict = field(default_factory=dict)
    traffic: bool = False  # run the switch simulator inside the console (make run: on)
    traffic_cps: float = 10.0  # its attempts a second
    # The alert evaluator inside the console, every minute. Off in a bare Config (tests,
    # embedders); load_config turns it on unless the file, environment or --no-alerts say off.
    alerts: bool = False
    # Outgoing mail (contact passwords, alerts); no smtp_host means no mail is sent.
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_tls: str = "starttls"  # none | starttls | tls
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_sender: str = ""
    source: str = ""


def xdg(var: str, default: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / default)


def default_config_path() -> Path:
    return xdg("XDG_CONFIG_HOME", ".config") / "connex-tui" / "config.yaml"


def default_database_url() -> str:
    path = xdg("XDG_DATA_HOME", ".local/share") / "connex-tui" / "connex.db"
    return f"sqlite+aiosqlite:///{path}"


def _coerce(name: str, kind: type, value, where: str):
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{where}: key '{name}' must be true or false, not {value!r}")
    if kind is int:
        # int() would quietly take true as 1 and 2.7 as 2
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        try:
            if isinstance(value, str):
                return int(value.strip())
        except ValueError:
            pass
        raise ConfigError(f"{where}: key '{name}' must be a whole number, not {value!r}")
    if kind is float:
        try:
            if isinstance(value, int | float | str) and not isinstance(value, bool):
                return float(str(value).strip())
        except ValueError:
            pass
        raise ConfigError(f"{where}: key '{name}' must be a number, not {value!r}")
    if kind is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: key '{name}' must be a mapping")
        return {str(k): str(v) for k, v in value.items()}
    if not isinstance(value, str | int | float):
        raise ConfigError(f"{where}: key '{name}' must be text")
    return str(value)


_TYPES = {"database_url": str, "operator": str, "role": str, "readonly": bool, "mouse": bool,
          "animations": bool, "theme": str, "page_size": int, "busy_timeout": float,
          "keymap": dict, "traffic": bool, "traffic_cps": float, "alerts": bool,
          "smtp_host": str, "smtp_port": int, "smtp_tls": str, "smtp_user": str,
          "smtp_password": str, "smtp_sender": str}
SMTP_TLS = ("none", "starttls", "tls")


def _key_lines(path: Path) -> dict[str, int]:
    """Line number of each top-level key, for error messages."""
    try:
        node = yaml.compose(path.read_text())
    except yaml.YAMLError:
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: k.start_mark.line + 1 for k, _ in node.value}


def load_config(path: str | Path | None = None, *, env: dict | None = None,
                overrides: dict | None = None) -> Config:
    env = os.environ if env is None else env
    explicit = path is not None
    cfg_path = Path(path) if path else default_config_path()
    values: dict = {}
    origin: dict[str, str] = {}  # key -> where its value came from, for error messages
    if cfg_path.exists():
        try:
            source = cfg_path.read_text(encoding="utf-8")
            data = yaml.safe_load(source) or {}
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{cfg_path}: cannot read it: "
                              f"{getattr(exc, 'strerror', None) or exc}") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            opened = getattr(exc, "context_mark", None)
            if mark is not None and opened is not None and mark.line >= len(source.splitlines()):
                mark = opened  # hit the end of the file: name the line left open (quote, [)
            line = f" line {mark.line + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or "not valid YAML"
            raise ConfigError(f"{cfg_path}:{line}: {problem}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{cfg_path}: line 1: the file must be a mapping of key: value")
        lines = _key_lines(cfg_path)
        for key, value in data.items():
            where = f"{cfg_path}: line {lines.get(key, '?')}"
            if key not in _TYPES:
                raise ConfigError(f"{where}: unknown key '{key}' (known: {', '.join(_TYPES)})")
            values[key] = _coerce(key, _TYPES[key], value, where)
            origin[key] = where
    elif explicit:
        raise ConfigError(f"{cfg_path}: no such config file")
    for key, kind in _TYPES.items():
        env_key = f"CONNEX_{key.upper()}"
        if env_key in env and kind is not dict:
            values[key] = _coerce(key, kind, env[env_key], f"environment {env_key}")
            origin[key] = f"environment {env_key}"
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
            origin[key] = "command line"
    # an empty value (database_url: "" or CONNEX_DATABASE_URL=) means "the default"
    if not values.get("database_url"):
        values["database_url"] = default_database_url()
    if not values.get("operator"):
        values["operator"] = _os_user()
    if values.get("role", "admin") not in ROLES:
        raise ConfigError(f"{origin.get('role', cfg_path)}: key 'role' must be one of "
                          f"{', '.join(ROLES)}")
    if not 1 <= values.get("page_size", 100) <= 10_000:
        raise ConfigError(f"{origin.get('page_size', cfg_path)}: key 'page_size' must be "
                          "between 1 and 10000")
    if not 0 <= values.get("busy_timeout", 5.0) <= 600:  # also refuses nan
        raise ConfigError(f"{origin.get('busy_timeout', cfg_path)}: key 'busy_timeout' must "
                          "be between 0 and 600 seconds")
    if not 0 < values.get("traffic_cps", 10.0) <= 5000:  # also refuses nan
        raise ConfigError(f"{origin.get('traffic_cps', cfg_path)}: key 'traffic_cps' must "
                          "be above 0 and at most 5000 attempts a second")
    if values.get("smtp_tls", "starttls") not in SMTP_TLS:
        raise ConfigError(f"{origin.get('smtp_tls', cfg_path)}: key 'smtp_tls' must be one of "
                          f"{', '.join(SMTP_TLS)}")
    if not 1 <= values.get("smtp_port", 587) <= 65535:
        raise ConfigError(f"{origin.get('smtp_port', cfg_path)}: key 'smtp_port' must be "
                          "between 1 and 65535")
    if values.get("readonly"):
        values["role"] = "viewer"
    values.setdefault("alerts", True)
    known = {f.name for f in fields(Config)}
    return Config(**{k: v for k, v in values.items() if k in known}, source=str(cfg_path))


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "operator"
