"""A real browser for tests: Debian's headless chromium renders a page and dumps its DOM (after
its scripts ran) or a screenshot. Tests that need it skip, saying why, when chromium is absent
(``apt-get install chromium``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

__all__ = ["CHROMIUM", "needs_chromium", "rendered_dom", "screenshot"]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"
)
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--hide-scrollbars",
    "--virtual-time-budget=15000",
    "--window-size=1300,1400",
)


def _chromium(page: Path, *args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, *_FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )


def rendered_dom(page: Path, profile: Path) -> str:
    """The page's DOM after its scripts ran (``--dump-dom``)."""
    return _chromium(page, "--dump-dom", profile=profile).stdout


def screenshot(page: Path, png: Path, profile: Path) -> Path:
    """A PNG of the page as chromium draws it."""
    _chromium(page, f"--screenshot={png}", profile=profile)
    return png
