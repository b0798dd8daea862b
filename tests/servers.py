"""Starting a server process for a test: a free port, then waiting until it answers."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(
    url: str, proc: subprocess.Popen[bytes], what: str, timeout: float, log: Path | None = None
) -> None:
    """Return once `url` answers; raise (with the log) if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            if proc.poll() is not None:
                output = log.read_text() if log else ""
                raise RuntimeError(f"{what} exited while starting. {output}") from None
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"{what} did not start in {timeout:.0f} s") from None
            time.sleep(0.5)
