"""A Redis tier under the Python package in local mode: two caches on two directories share
values through a real redis-server on loopback (started here, stopped by pid), as an ACL
user; a wrong password is refused naming the user, never the password; redis= is refused
when a server holds the directory."""

import os
import shutil
import socket
import subprocess
import time

import pytest

import stratacache

from conftest import start_server, stop_server


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(port, *args):
    out = subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", str(port), "--user", "ocr", "--pass", "py-s3cret",
         "--no-auth-warning", *args],
        capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.fixture
def redis_port(tmp_path):
    """A redis-server on a free loopback port with the ACL user ocr (password py-s3cret)
    and the default user switched off; yields its port."""
    if shutil.which("redis-server") is None:
        if os.environ.get("STRATACACHE_REQUIRE_REDIS") == "1":
            pytest.fail("redis-server is not installed, and STRATACACHE_REQUIRE_REDIS=1")
        pytest.skip("*** SKIP: redis-server not found (apt-get install -y redis-server) ***")
    port = _free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(tmp_path),
         "--user", "ocr", "on", ">py-s3cret", "~*", "&*", "+@all",
         "--user", "default", "off"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while True:
            try:
                if _cli(port, "PING") == "PONG":
                    break
            except subprocess.CalledProcessError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail("redis-server did not start")
            time.sleep(0.02)
        yield port
    finally:
        proc.kill()
        proc.wait()


def test_two_caches_share_values_through_redis_as_an_acl_user(tmp_path, redis_port):
    url = f"redis://127.0.0.1:{redis_port}"
    options = dict(redis=url, redis_user="ocr", redis_password="py-s3cret", redis_prefix="py:")
    with stratacache.Cache(tmp_path / "a", **options) as a, \
            stratacache.Cache(tmp_path / "b", memory=0, **options) as b:
        a.set("page/1", {"text": "from host a"})
        a.set("raw", b"\x00bytes")
        assert _cli(redis_port, "EXISTS", "py:v:page/1") == "1"
        # b has never seen these: they come from Redis.
        assert b.get("page/1") == {"text": "from host a"}
        assert b.get("raw") == b"\x00bytes"
        redis_tier = next(t for t in b.stats()["cache"]["tiers"] if t["tier"] == "redis")
        assert redis_tier["hits"] >= 2
        b.delete("page/1")
        assert _cli(redis_port, "EXISTS", "py:v:page/1") == "0"


def test_the_password_can_come_from_the_environment(tmp_path, redis_port, monkeypatch):
    monkeypatch.setenv("STRATACACHE_REDIS_PASSWORD", "py-s3cret")
    with stratacache.Cache(tmp_path / "a", redis=f"redis://127.0.0.1:{redis_port}",
                           redis_user="ocr") as a:
        a.set("k", "v")
        assert _cli(redis_port, "EXISTS", "stratacache:v:k") == "1"


def test_a_wrong_password_is_refused_without_showing_it(tmp_path, redis_port):
    with pytest.raises(stratacache.Error) as raised:
        stratacache.Cache(tmp_path / "a", redis=f"redis://127.0.0.1:{redis_port}",
                          redis_user="ocr", redis_password="not-it-xyz")
    message = str(raised.value)
    assert '"ocr"' in message and f"127.0.0.1:{redis_port}" in message, message
    assert "not-it-xyz" not in message
    # The directory was not left locked by the failed open.
    with stratacache.Cache(tmp_path / "a") as c:
        assert c.mode == "local"


def test_bad_redis_options_are_clear(tmp_path):
    with pytest.raises(stratacache.InvalidArgumentError, match="needs a password"):
        stratacache.Cache(tmp_path / "a", redis="redis://127.0.0.1:1", redis_user="ocr",
                          redis_password=None)
    with pytest.raises(stratacache.InvalidArgumentError, match="need redis="):
        stratacache.Cache(tmp_path / "a", redis_user="ocr")
    with pytest.raises(TypeError, match="redis= takes a URL"):
        stratacache.Cache(tmp_path / "a", redis=42)
    with pytest.raises(stratacache.Error, match="ca.pem"):
        stratacache.Cache(tmp_path / "a", redis="rediss://127.0.0.1:1",
                          redis_ca=tmp_path / "ca.pem")


def test_redis_is_refused_when_a_server_holds_the_directory(tmp_path):
    store = tmp_path / "store"
    proc = start_server(store)
    try:
        with pytest.raises(stratacache.InvalidArgumentError, match="serve --redis"):
            stratacache.Cache(store, redis="redis://127.0.0.1:1")
    finally:
        stop_server(proc, store)


def _openssl(cwd, *args):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def tls_redis(tmp_path, redis_port):
    """A TLS-only redis-server with a certificate for 127.0.0.1 signed by a test CA; yields
    (port, ca_path, other_ca_path). Needs the same tools as redis_port (which checked them)."""
    d = tmp_path / "tls"
    d.mkdir()
    for ca in ("ca", "other"):
        _openssl(d, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                 "-subj", f"/CN=py test {ca}", "-keyout", f"{ca}.key", "-out", f"{ca}.pem")
    _openssl(d, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
             "-keyout", "server.key", "-out", "server.csr")
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl(d, "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-out", "server.pem", "-extfile", "server.ext")
    port = _free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", str(d),
         "--tls-cert-file", str(d / "server.pem"), "--tls-key-file", str(d / "server.key"),
         "--tls-ca-cert-file", str(d / "ca.pem"), "--tls-auth-clients", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while subprocess.run(
                ["redis-cli", "--tls", "--cacert", str(d / "ca.pem"), "-h", "127.0.0.1",
                 "-p", str(port), "PING"], capture_output=True, text=True).stdout.strip() != "PONG":
            if proc.poll() is not None or time.time() > deadline:
                pytest.fail("the TLS redis-server did not start")
            time.sleep(0.02)
        yield port, d / "ca.pem", d / "other.pem"
    finally:
        proc.kill()
        proc.wait()


def test_tls_with_the_right_ca_and_a_wrong_one(tmp_path, tls_redis):
    port, ca, other = tls_redis
    url = f"rediss://127.0.0.1:{port}"
    with stratacache.Cache(tmp_path / "a", redis=url, redis_ca=ca) as a, \
            stratacache.Cache(tmp_path / "b", memory=0, redis=url, redis_ca=ca) as b:
        a.set("scan/1", "over TLS")
        assert b.get("scan/1") == "over TLS"
    with pytest.raises(stratacache.Error, match="CA"):
        stratacache.Cache(tmp_path / "c", redis=url, redis_ca=other)
