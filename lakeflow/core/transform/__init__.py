"""Pure transform stages: clean, derive, keep, categorize, aggregate, protect."""
