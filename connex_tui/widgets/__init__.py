"""Reusable Textual pieces: forms, confirm dialog, header strip."""
