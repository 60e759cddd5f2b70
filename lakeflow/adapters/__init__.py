"""Effectful adapters: lakes, sources, sinks. Third-party errors are translated here."""
