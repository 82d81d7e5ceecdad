"""Alembic environment: the connection comes from connex_tui.data.migrate."""

from alembic import context

from connex_tui.data.migrate import for_dialect
from connex_tui.data.models import Base

target_metadata = Base.metadata
connection = context.config.attributes.get("connection")

if connection is None:  # offline SQL generation
    context.configure(url="sqlite://", target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True,
                      include_object=for_dialect(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()
