"""Column widths for a DataTable that must work at 80 columns and use a wider terminal."""

from __future__ import annotations

from collections.abc import Sequence

CELL_PAD = 2  # DataTable pads each cell by one on both sides
SCROLLBAR = 2


def fit_widths(widths: Sequence[int], grow: Sequence[int], total: int, *,
               drop: bool = False) -> tuple[int, ...]:
    """Widths for a table `total` cells wide, from the columns' widths at 80 columns: as
    many whole columns as fit, from the left; what is left of the width goes to those
    among them listed in `grow` (the ones that cut long values), so a wider terminal shows
    more of each value. The columns that did not fit scroll into view, or with `drop` are
    left out (only the widths of those that fit are returned)."""
    out = list(widths)
    room = total - SCROLLBAR
    shown = 0
    for w in out:
        if room < w + CELL_PAD:
            break
        room -= w + CELL_PAD
        shown += 1
    growing = [i for i in grow if i < shown]
    for n, i in enumerate(growing):  # share `room` out, the first ones get the remainder
        out[i] += room // len(growing) + (1 if n < room % len(growing) else 0)
    return tuple(out[:shown] if drop else out)
