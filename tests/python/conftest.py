"""Fixtures for the Python tests: a `stratacache serve` child process on a fresh store."""

import os
import signal
import socket
import subprocess
import time

import pytest


def _binary():
    path = os.environ.get("STRATACACHE_BIN")
    if not path:
        pytest.fail("STRATACACHE_BIN must name the stratacache binary (cargo test sets it)")
    return path


def _answers_ping(sock_path):
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(1)
            s.connect(sock_path)
            s.sendall(b"PING\r\n")
            return s.recv(7) == b"+PONG\r\n"
    except OSError:
        return False


@pytest.fixture
def server(tmp_path):
    """Starts a server on tmp_path/store; yields its socket path; stops it with SIGTERM."""
    store = tmp_path / "store"
    sock = str(store / "stratacache.sock")
    proc = subprocess.Popen(
        [_binary(), "--dir", str(store), "serve", "--memory", "16MiB"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 20
    while not _answers_ping(sock):
        if proc.poll() is not None:
            pytest.fail("stratacache serve exited: " + proc.stderr.read().decode())
        if time.time() > deadline:
            proc.kill()
            pytest.fail("stratacache serve did not answer PING within 20 s")
        time.sleep(0.02)
    yield sock
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert not os.path.exists(sock)
