"""Pure domain logic: no I/O, no SQLAlchemy, no Textual."""
