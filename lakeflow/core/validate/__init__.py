"""Pure validation: checks compiled to one lazy plan of valid rows, quarantine and counts."""
