"""The shell: ``run()``, the one place that sequences effects."""
