"""Shipped for users: the Lake contract suite, hypothesis strategies and pytest fixtures."""
