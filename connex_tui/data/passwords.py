"""SIP user secrets (docs/domain.md §6): an argon2 hash plus the SIP digest HA1 for the realm.

The clear password exists only on its way from the form (or the generator) to these two
values and back to the operator once; it is never stored or logged.
"""

from __future__ import annotations

import hashlib
import secrets

from connex_tui.engine.snapshot import REALM

# No 0/O/o, 1/l/I: read aloud or copied off a screen without mistakes.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
GENERATED_LENGTH = 20

_hasher = None


def _argon2():
    """argon2-cffi's PasswordHasher, imported on first use (13 ms: not at start-up)."""
    global _hasher
    if _hasher is None:
        from argon2 import PasswordHasher

        _hasher = PasswordHasher()
    return _hasher


def generate_password(length: int = GENERATED_LENGTH) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def hash_password(password: str) -> str:
    """argon2id hash (argon2-cffi defaults): tens of milliseconds, so call it off the event
    loop (asyncio.to_thread)."""
    return _argon2().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _argon2().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def ha1(username: str, password: str, realm: str = REALM) -> str:
    """SIP digest HA1 = md5("username:realm:password") in hex (RFC 2617): what a switch
    needs to check a digest response without the clear password."""
    return hashlib.md5(f"{username}:{realm}:{password}".encode(), usedforsecurity=False
                       ).hexdigest()
