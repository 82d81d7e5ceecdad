"""Async data layer: SQLAlchemy 2 models and services that return plain immutable rows."""
