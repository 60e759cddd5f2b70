"""The functional core: pure stages, checks, records and config. No I/O, no clock, no env."""
