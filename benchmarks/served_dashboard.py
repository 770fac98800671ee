"""`dealer360 dashboard` on a free local port, for the benchmarks that drive it.

from served_dashboard import served
with served() as (base_url, server): ...
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served(timeout: float = 120) -> Iterator[tuple[str, subprocess.Popen]]:
    """Serve the dashboard for the environment's database; yield its base URL and the CLI
    process (Streamlit is its child), and stop both on the way out."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "dealer360.cli", "dashboard", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"the dashboard did not come up in {timeout:.0f} s") from None
                time.sleep(0.5)
        yield base, server
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
