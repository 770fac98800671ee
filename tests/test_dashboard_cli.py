"""`dealer360 dashboard` as a service manager runs it: started, then stopped with SIGTERM."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def _children(pid: int) -> list[int]:
    tasks = f"/proc/{pid}/task"
    found = []
    for task in os.listdir(tasks) if os.path.isdir(tasks) else []:
        with open(f"{tasks}/{task}/children") as children:
            found += [int(child) for child in children.read().split()]
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_sigterm_stops_the_dashboard_server_and_frees_its_port(database_url) -> None:
    port = _free_port()
    env = os.environ | {"DATABASE_URL": database_url.render_as_string(hide_password=False)}
    cli = subprocess.Popen(
        [sys.executable, "-m", "dealer360.cli", "dashboard", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # so that cleanup can reach whatever is left, and only that
    )
    try:
        deadline = time.monotonic() + 90
        while not _answers(port):
            assert cli.poll() is None, f"the dashboard exited ({cli.returncode}) before serving"
            if time.monotonic() > deadline:
                pytest.fail("the dashboard did not answer within 90 s")
            time.sleep(0.3)
        servers = _children(cli.pid)
        assert servers, "the dashboard runs no server process"

        cli.send_signal(signal.SIGTERM)  # to the CLI only, as `kill PID` or systemd would
        assert cli.wait(timeout=15) == 0
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in servers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(_alive(pid) for pid in servers), "the Streamlit server outlived the CLI"
        assert not _answers(port)
        with socket.socket() as sock:
            # As a server binds: the health checks' closed connections linger in TIME_WAIT.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", port))  # no one listens there any more
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(cli.pid, signal.SIGKILL)  # whatever is left of what this test started
        cli.wait()
