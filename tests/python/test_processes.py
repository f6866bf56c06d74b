"""Several processes: persistence across processes, a pool of 4 workers sharing one
directory through a server, a writer killed with SIGKILL, a directory held by another
process, a cache used across fork()."""

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap

import pytest

import stratacache
from conftest import start_server, stop_server


def run_python(code, *args, **kw):
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
        capture_output=True,
        text=True,
        **kw,
    )


def test_values_persist_across_processes(tmp_path):
    store = tmp_path / "store"
    written = run_python(
        """
        import sys, stratacache
        with stratacache.Cache(sys.argv[1]) as c:
            c.set("doc:1", {"text": "Hallo", "confidence": 0.9})
            c.set("raw", b"\\x00\\x01")
            c.set("short", "gone soon", ttl=3600)
        """,
        store,
    )
    assert written.returncode == 0, written.stderr
    with stratacache.Cache(store) as cache:
        assert cache.get("doc:1") == {"text": "Hallo", "confidence": 0.9}
        assert cache.get("raw") == b"\x00\x01"
        assert 3500 < cache.ttl("short") <= 3600


def _pool_worker(args):
    directory, worker = args
    cache = stratacache.Cache(directory)
    assert cache.mode == "server", cache.mode
    for i in range(200):
        cache.set(f"w{worker}:{i}", {"worker": worker, "i": i})
    seen = sum(1 for i in range(200) if cache.get(f"w{worker}:{i}") == {"worker": worker, "i": i})
    counted = cache.get_or_set("shared", lambda: worker)
    cache.close()
    return seen, counted


def test_a_pool_of_4_processes_shares_one_directory_through_a_server(tmp_path):
    store = tmp_path / "store"
    proc = start_server(store)
    try:
        context = multiprocessing.get_context("spawn")
        with context.Pool(4) as pool:
            results = pool.map(_pool_worker, [(str(store), w) for w in range(4)])
        assert [seen for seen, _ in results] == [200] * 4
        # Every worker saw the same shared value, whoever made it.
        assert len({shared for _, shared in results}) == 1
        with stratacache.Cache(store) as cache:
            assert len(cache) == 801
            assert cache.get("w3:199") == {"worker": 3, "i": 199}
    finally:
        stop_server(proc, store)
    # Served data is on disk: opened directly once the server is gone.
    with stratacache.Cache(store) as cache:
        assert cache.mode == "local"
        assert cache.get("w0:0") == {"worker": 0, "i": 0}


def test_a_store_opens_after_its_writer_was_killed(tmp_path):
    store = tmp_path / "store"
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import sys, stratacache
                c = stratacache.Cache(sys.argv[1])
                for i in range(1000):
                    c.set(f"flushed:{i}", {"i": i, "pad": "x" * 100})
                c.flush()
                print("flushed", flush=True)
                i = 0
                while True:  # keep writing until killed
                    c.set(f"after:{i}", b"y" * 4096)
                    i += 1
                """
            ),
            str(store),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline().strip() == "flushed"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    with stratacache.Cache(store) as cache:
        for i in range(1000):
            assert cache.get(f"flushed:{i}") == {"i": i, "pad": "x" * 100}
        for key in cache.keys("after:"):
            assert cache.get(key) == b"y" * 4096  # whatever survived is whole


def test_a_directory_held_by_another_process_raises_locked_error(tmp_path):
    store = tmp_path / "store"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, stratacache; c = stratacache.Cache(sys.argv[1]); print('open', flush=True); sys.stdin.read()",
            str(store),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(stratacache.LockedError) as raised:
            stratacache.Cache(store)
        error = raised.value
        assert isinstance(error, stratacache.Error)
        assert error.pid == holder.pid
        assert error.directory == str(store)
        message = str(error)
        assert str(store) in message and str(holder.pid) in message
        assert "stratacache --dir" in message and "serve" in message
    finally:
        holder.stdin.close()
        holder.wait()


def test_a_cache_opened_before_fork_refuses_in_the_child(tmp_path):
    cache = stratacache.Cache(tmp_path / "store")
    cache.set("k", 1)
    pid = os.fork()
    if pid == 0:
        try:
            cache.get("k")
            os._exit(1)
        except stratacache.Error as e:
            os._exit(0 if "forked" in str(e) else 2)
        except BaseException:
            os._exit(3)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert cache.get("k") == 1  # the parent's cache still works
    cache.close()


def test_a_server_restart_is_survived_and_a_stopped_server_is_an_error(tmp_path):
    store = tmp_path / "store"
    proc = start_server(store)
    cache = stratacache.Cache(store)
    assert cache.mode == "server"
    cache.set("k", "before")
    cache.flush()
    stop_server(proc, store)
    with pytest.raises(stratacache.Error) as raised:
        cache.get("k")
    assert "stratacache.sock" in str(raised.value)
    proc = start_server(store)
    try:
        assert cache.get("k") == "before"  # pooled connections were stale: reconnected
        cache.set("k", "after")
        assert cache.get("k") == "after"
    finally:
        cache.close()
        stop_server(proc, store)
