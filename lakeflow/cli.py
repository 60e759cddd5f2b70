"""The ``lakeflow`` command line."""
