"""Who is acting, and what their role allows (DOMAIN.md §13): enforced here, not in the UI."""

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
