"""The tutorial's users pipeline, end to end: ``python -m examples.users``."""
