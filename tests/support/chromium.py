"""Debian's chromium, headless, for the status page's browser test: installed once by
scripts/install-chromium; a screenshot at a window size, and the DOM after rendering."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.support.processes import REPO

# No network beyond the page itself, no first-run work, no sandbox (the tests may run as root).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
ARTIFACTS = REPO / "tests" / "artifacts"  # ignored by git: kept after the run for a person to look at


def install() -> str:
    """The browser's path; RuntimeError saying why when it cannot be installed."""
    done = subprocess.run(
        [str(REPO / "scripts" / "install-chromium")], capture_output=True, text=True, timeout=900, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "install-chromium failed")
    return done.stdout.strip().splitlines()[-1]


class Chromium:
    def __init__(self, binary: str, profile: Path) -> None:
        self.binary, self.profile = binary, profile

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [self.binary, *FLAGS, f"--user-data-dir={self.profile}", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)

    def screenshot(self, url: str, path: Path, width: int, height: int) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._run(f"--screenshot={path}", f"--window-size={width},{height}", url)
        return path

    def dom(self, url: str, width: int = 390, height: int = 844) -> str:
        return self._run("--dump-dom", f"--window-size={width},{height}", url).stdout
