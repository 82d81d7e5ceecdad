"""Who is acting, and what their role allows (docs/domain.md §13): enforced here, not in the UI."""

from __future__ import annotations

from dataclasses import dataclass


class PermissionDenied(Exception):
    pass


class StaleError(Exception):
    """The row changed since it was read: the save is refused, nothing is written."""

    def __init__(self, what: str = "record"):
        super().__init__(f"{what} was changed by someone else")


class NotFound(Exception):
    pass


class StorageError(Exception):
    """The database failed or refused (unreachable, locked, disk full, a constraint...).
    data/ raises it in place of SQLAlchemy's errors (data/db.py translates them once, where
    a session ends), so the UI and the CLI catch one type and print its one-line message.
    The operation was rolled back: nothing was written. `exit_code` is the CLI's."""

    exit_code = 1


class DatabaseBusy(StorageError):
    """Another writer held the lock for longer than the configured wait."""


class ConstraintFailed(StorageError):
    """The database refused a row (unique, foreign key, check)."""


class NoDatabase(StorageError):
    """A read-only start found no database file (nothing is created)."""

    exit_code = 2


class SchemaMismatch(StorageError):
    """The database's schema is not this program's (behind, on a read-only start, or
    newer than this program)."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class Actor:
    name: str
    role: str = "admin"  # viewer | operator | admin

    def require(self, action: str) -> None:
        """action: 'write' (create/update) or 'delete' / 'recalc' (admin only)."""
        if self.role == "viewer":
            raise PermissionDenied(f"{self.name} is read-only (viewer)")
        if action in ("delete", "recalc") and self.role != "admin":
            raise PermissionDenied(f"{action} needs the admin role; {self.name} is {self.role}")


SYSTEM = Actor("system", "admin")
