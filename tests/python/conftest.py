"""Fixtures for the Python tests: a `stratacache serve` child process on a fresh store, and
a store directory opened either in-process or through such a server (`store`), so that
one test runs against both modes of `stratacache.Cache`."""

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


def binary():
    """The stratacache binary of this build."""
    return _binary()


def start_server(store, *extra):
    """Starts `stratacache --dir store serve`; returns the process once it answers PING."""
    sock = str(store / "stratacache.sock")
    proc = subprocess.Popen(
        [_binary(), "--dir", str(store), "serve", "--memory", "16MiB", *extra],
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
    return proc


def stop_server(proc, store):
    """Stops a server with SIGTERM and checks it exited cleanly."""
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert not os.path.exists(store / "stratacache.sock")


@pytest.fixture
def server(tmp_path):
    """Starts a server on tmp_path/store; yields its socket path; stops it with SIGTERM."""
    store = tmp_path / "store"
    proc = start_server(store)
    yield str(store / "stratacache.sock")
    stop_server(proc, store)


@pytest.fixture(params=["local", "server"])
def store(request, tmp_path):
    """A store directory: opened by `Cache` in this process ("local"), or held by a
    `stratacache serve` that `Cache` talks to ("server"). Yields (directory, mode)."""
    directory = tmp_path / "store"
    if request.param == "local":
        yield directory, "local"
        return
    proc = start_server(directory)
    yield directory, "server"
    stop_server(proc, directory)


@pytest.fixture
def cache(store):
    """A `stratacache.Cache` on `store`, closed afterwards."""
    import stratacache

    directory, mode = store
    c = stratacache.Cache(directory)
    assert c.mode == mode
    yield c
    c.close()
