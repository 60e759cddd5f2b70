"""Fixtures of the table tests: ``lake_factory`` makes repositories on both kinds of lake."""

from tests.tables.helpers import lake_factory

__all__ = ["lake_factory"]
