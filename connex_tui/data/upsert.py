"""INSERT ... ON CONFLICT DO UPDATE for SQLite and PostgreSQL with one call site."""

from __future__ import annotations

from sqlalchemy import Table, func


def upsert_add(dialect: str, table: Table, keys: tuple[str, ...], add: tuple[str, ...],
               greatest: tuple[str, ...] = (), replace: tuple[str, ...] = ()):
    """Insert rows; on key conflict add the `add` columns, keep the max of `greatest` and
    take the new value of `replace`."""
    # the dialect's module is imported here: a SQLite user never loads PostgreSQL's (~19 ms)
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    ins = insert(table)
    bigger = func.greatest if dialect == "postgresql" else func.max  # scalar max in SQLite
    set_ = {c: table.c[c] + ins.excluded[c] for c in add}
    set_.update({c: bigger(table.c[c], ins.excluded[c]) for c in greatest})
    set_.update({c: ins.excluded[c] for c in replace})
    return ins.on_conflict_do_update(index_elements=list(keys), set_=set_)
