"""Feeds: demo data, traffic simulation, importers and jobs (data/ + engine/, never the UI)."""
