"""The same bytes through every door: values written from Python read by the CLI
byte-identical, files imported by the CLI read from Python, and a Redis client through
the server seeing what Python stored."""

import json
import subprocess

import pytest

import stratacache
from conftest import binary


def cli(directory, *args, **kw):
    return subprocess.run(
        [binary(), "--dir", str(directory), *map(str, args)],
        capture_output=True,
        check=True,
        **kw,
    ).stdout


def test_python_values_read_by_the_cli(store):
    directory, mode = store
    blob = bytes(range(256)) * 300
    with stratacache.Cache(directory) as cache:
        cache.set("blob", blob)
        cache.set("text", "Grüße")
        cache.set("doc", {"text": "Hallo", "n": 1})
        if mode == "local":
            cache.close()
        assert cli(directory, "get", "blob") == blob
        assert cli(directory, "get", "text") == "Grüße".encode()
        assert json.loads(cli(directory, "get", "doc")) == {"text": "Hallo", "n": 1}


def test_files_imported_by_the_cli_read_from_python(store, tmp_path):
    directory, mode = store
    pages = tmp_path / "ocr-out"
    (pages / "doc1").mkdir(parents=True)
    (pages / "doc1" / "page1.txt").write_bytes("Seite eins\n".encode())
    (pages / "doc1" / "page1.hocr").write_bytes(b"<html>\x00\xff</html>")
    cli(directory, "import", pages, "--prefix", "scans/")
    cli(directory, "put", "single", "-", input=b"from stdin")
    with stratacache.Cache(directory) as cache:
        assert cache.get("scans/doc1/page1.txt") == b"Seite eins\n"
        assert cache.get("scans/doc1/page1.hocr") == b"<html>\x00\xff</html>"
        assert cache.get("single") == b"from stdin"
        assert sorted(cache.keys("scans/")) == ["scans/doc1/page1.hocr", "scans/doc1/page1.txt"]


def test_a_redis_client_sees_what_python_stored(server):
    import pathlib

    import redis

    directory = pathlib.Path(server).parent
    with stratacache.Cache(directory) as cache:
        assert cache.mode == "server"
        cache.set("b", b"\x00bytes")
        cache.set("s", "text")
        cache.set("j", [1, 2])
        r = redis.Redis(unix_socket_path=server)
        assert r.get("b") == b"\x00bytes"
        assert r.get("s") == b"text"
        assert r.get("j") == b"[1,2]"
        r.set("from-redis", b"\x01\x02")
        assert cache.get("from-redis") == b"\x01\x02"
        # Kinds set by other clients are read as what they say they are.
        r.execute_command("SC.SET", "as-text", "Grüße".encode(), "KIND", "text")
        r.execute_command("SC.SET", "as-json", b'{"a":1}', "KIND", "json")
        r.execute_command("SC.SET", "as-bincode", b"\x01", "KIND", "bincode")
        assert cache.get("as-text") == "Grüße" and cache.get("as-json") == {"a": 1}
        with pytest.raises(stratacache.SerializationError, match="bincode"):
            cache.get("as-bincode")
        assert r.execute_command("SC.GET", "s") == [b"text", b"text"]
        with pytest.raises(redis.ResponseError, match="unknown value kind"):
            r.execute_command("SC.SET", "x", b"1", "KIND", "yaml")
