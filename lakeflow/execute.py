"""Execute lazy plans built by the core, reading each source once."""
