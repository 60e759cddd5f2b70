"""Validation reports (placeholder until the validation issue fills it in)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ValidationReport"]


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """What validation found: status and per-rule results."""

    status: str

    def summary(self) -> str:
        """Pure. One line saying what failed."""
        return f"validation {self.status}"
