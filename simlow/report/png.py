"""Static PNG of a report page through headless Chromium, where the machine has it.

plotly's own static export needs the optional ``kaleido`` package and a browser; a report
page already renders in any browser, so simlow screenshots it with the system's Chromium
instead. ``find_chromium()`` says whether that is possible here; ``screenshot`` raises a
``SimlowError`` naming what is missing when it is not.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from simlow.errors import SimlowError

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars")


def find_chromium() -> str | None:
    """Path of a Chromium-family browser on PATH, or None."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(page: str | Path, png: str | Path, width: int = 1280, height: int = 2000,
               budget_ms: int = 5000, timeout_s: float = 60.0) -> Path:
    """Render the HTML file ``page`` and save a ``width`` x ``height`` PNG at ``png``."""
    browser = find_chromium()
    if browser is None:
        raise SimlowError(f"PNG export needs a Chromium browser on PATH (looked for {', '.join(BROWSERS)}); "
                          "on Debian: apt-get install chromium")
    page, png = Path(page).resolve(), Path(png).resolve()
    with tempfile.TemporaryDirectory(prefix="simlow-chromium-") as profile:
        cmd = [browser, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
               f"--virtual-time-budget={budget_ms}", f"--screenshot={png}", page.as_uri()]
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=timeout_s)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
            raise SimlowError(f"PNG export: {browser} failed on {page} ({err})") from None
    if not png.is_file():
        raise SimlowError(f"PNG export: {browser} wrote no {png}")
    return png
