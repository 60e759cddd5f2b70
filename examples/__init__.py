"""Runnable examples, on the embedded defaults (SQLite source, local lake)."""
