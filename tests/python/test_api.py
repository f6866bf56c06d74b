"""The whole `stratacache.Cache` API, run against both modes: the store opened in this
process, and the store held by `stratacache serve` (the `cache` fixture does both)."""

import json
from datetime import timedelta

import pytest

import stratacache


def test_values_come_back_as_what_was_stored(cache):
    values = {
        "bytes": b"\x00\xffraw",
        "empty": b"",
        "text": "Grüße, 世界",
        "dict": {"id": 7, "text": "Hallo", "confidence": 0.93, "words": ["a", None]},
        "list": [1, 2.5, "x", True, None],
        "int": 2**70,
        "float": 0.1,
        "none": None,
        "bool": False,
    }
    for key, value in values.items():
        cache.set(key, value)
    for key, value in values.items():
        got = cache.get(key)
        assert got == value and type(got) is type(value), key
    # Tuples are JSON arrays; bytearray and memoryview are bytes.
    cache.set("tuple", (1, 2))
    assert cache.get("tuple") == [1, 2]
    cache.set("bytearray", bytearray(b"ab"))
    cache.set("memoryview", memoryview(b"cd"))
    assert cache.get("bytearray") == b"ab" and cache.get("memoryview") == b"cd"


def test_add_stores_only_into_an_absent_key(cache):
    assert cache.add("job:1", {"state": "new"}, ttl=60)
    assert not cache.add("job:1", {"state": "other"})
    assert cache.get("job:1") == {"state": "new"}
    assert 0 < cache.ttl("job:1") <= 60
    cache.delete("job:1")
    assert cache.add("job:1", "again", tags=["jobs"])
    cache.invalidate_tag("jobs")
    assert cache.add("job:1", b"after the tag retired it")


def test_get_default_and_mapping_protocol(cache):
    sentinel = object()
    assert cache.get("absent") is None
    assert cache.get("absent", sentinel) is sentinel
    assert "absent" not in cache
    cache["k"] = "v"
    assert "k" in cache and cache["k"] == "v"
    assert b"k" in cache  # str and bytes keys are the same bytes
    with pytest.raises(KeyError):
        cache["absent"]
    del cache["k"]
    with pytest.raises(KeyError):
        del cache["k"]
    assert cache.delete("k") is False
    cache.set("k", 1)
    assert cache.delete("k") is True


def test_len_iteration_and_keys_by_prefix(cache):
    for i in range(2500):  # more than one page of keys
        cache.set(f"doc:{i:05}", i)
    cache.set("other", 1)
    cache.set(b"\xff\xfe", 2)
    assert len(cache) == 2502
    keys = list(cache.keys("doc:"))
    assert keys == [f"doc:{i:05}" for i in range(2500)]
    assert set(cache) == set(keys) | {"other", b"\xff\xfe"}
    assert list(cache.keys(b"oth")) == [b"other"]
    assert list(cache.keys("nothing")) == []


def test_many(cache):
    cache.set_many({"a": 1, "b": b"2", "c": "3"}, ttl=60)
    assert cache.get_many(["a", "b", "c", "missing"]) == {"a": 1, "b": b"2", "c": "3"}
    assert 59 <= cache.ttl("b") <= 60
    assert cache.get_many([]) == {}
    cache.set_many({})
    got = cache.get_many(k for k in ["a", b"b"])
    assert got == {"a": 1, b"b": b"2"}


def test_ttl_expire_persist(cache):
    cache.set("t", "v", ttl=30)
    assert 29 < cache.ttl("t") <= 30
    cache.set("td", "v", ttl=timedelta(hours=1))
    assert 3599 < cache.ttl("td") <= 3600
    cache.set("forever", "v")
    assert cache.ttl("forever") is None
    with pytest.raises(KeyError):
        cache.ttl("absent")
    assert cache.expire("forever", 10) is True
    assert 9 < cache.ttl("forever") <= 10
    assert cache.persist("forever") is True
    assert cache.ttl("forever") is None
    assert cache.persist("forever") is False
    assert cache.expire("absent", 10) is False
    cache.set("short", "v", ttl=0.05)
    import time

    time.sleep(0.3)
    assert cache.get("short") is None


def test_default_ttl(store):
    directory, _ = store
    with stratacache.Cache(directory, default_ttl=timedelta(minutes=5)) as cache:
        cache.set("k", 1)
        assert 299 < cache.ttl("k") <= 300
        cache.set_many({"m": 1})
        assert 299 < cache.ttl("m") <= 300
        cache.set("own", 1, ttl=10)
        assert cache.ttl("own") <= 10
        cache["item"] = 1
        assert 299 < cache.ttl("item") <= 300


def test_tags_and_prefixes(cache):
    cache.set("ocr:1", "a", tags=["doc:1", "ocr"])
    cache.set("ocr:2", "b", tags="ocr")
    cache.set("meta:1", "c", tags=("doc:1",))
    cache.invalidate_tag("doc:1")
    assert cache.get("ocr:1") is None and cache.get("meta:1") is None
    assert cache.get("ocr:2") == "b"
    cache.set("p:1", 1)
    cache.set("p:2", 2)
    cache.set("q:1", 3)
    assert cache.remove_prefix("p:") == 2
    assert cache.remove_prefix(b"p:") == 0
    assert cache.get("q:1") == 3
    assert cache.clear() >= 1
    assert len(cache) == 0


def test_stats_have_the_cli_fields_per_tier(cache, store):
    import subprocess

    from conftest import binary

    cache.set("k", b"v")
    cache.get("k")
    cache.get("absent")
    stats = cache.stats()
    assert set(stats) == {"disk", "cache"}
    if cache.mode == "local":
        cache.close()  # the CLI opens the store itself
    cli = json.loads(
        subprocess.run(
            [binary(), "--dir", str(store[0]), "stats", "--json"],
            check=True,
            capture_output=True,
        ).stdout
    )
    assert set(stats["disk"]) == set(cli)
    assert stats["disk"]["entries"] == 1
    assert stats["cache"]["hits"] >= 1 and stats["cache"]["misses"] >= 1
    tiers = [t["tier"] for t in stats["cache"]["tiers"]]
    assert "disk" in tiers


def test_flush_close_and_context_manager(store):
    directory, _ = store
    with stratacache.Cache(directory) as cache:
        cache.set("k", "v")
        cache.flush()
        assert not cache.closed
    assert cache.closed
    cache.close()  # twice is fine
    with pytest.raises(stratacache.ClosedError, match="closed"):
        cache.get("k")
    assert "closed" in repr(cache)
    with stratacache.Cache(directory) as again:
        assert again.get("k") == "v"
        assert again.directory == str(directory)


def test_pickle_only_when_asked(store):
    directory, _ = store
    with stratacache.Cache(directory, serializer="pickle") as pickled:
        pickled.set("set", {1, 2, 3})
        assert pickled.get("set") == {1, 2, 3}
        pickled.set("text", "still UTF-8")  # bytes and str are never pickled
        assert pickled.serializer == "pickle"
    with stratacache.Cache(directory) as plain:
        with pytest.raises(stratacache.SerializationError, match="pickle"):
            plain.get("set")
        assert plain.get("text") == "still UTF-8"
        with pytest.raises(stratacache.SerializationError, match="JSON"):
            plain.set("set", {1, 2})


def test_sizes_and_capacity(tmp_path):
    with stratacache.Cache(tmp_path / "c", capacity="8MiB", memory=0) as cache:
        assert cache.stats()["disk"]["capacity_bytes"] == 8 << 20
        assert [t["tier"] for t in cache.stats()["cache"]["tiers"]] == ["disk"]
    with stratacache.Cache(tmp_path / "c") as cache:  # keeps its capacity
        assert cache.stats()["disk"]["capacity_bytes"] == 8 << 20
    with stratacache.Cache(tmp_path / "c", capacity=16 << 20, memory="1MiB") as cache:
        assert cache.stats()["disk"]["capacity_bytes"] == 16 << 20
    with stratacache.Cache(tmp_path / "new") as cache:
        assert cache.stats()["disk"]["capacity_bytes"] == 10 << 30


def test_file_key_and_make_key(tmp_path):
    page = tmp_path / "page.png"
    page.write_bytes(b"\x89PNG fake")
    by_path = stratacache.file_key(page, lang="deu", dpi=300)
    by_bytes = stratacache.file_key(b"\x89PNG fake", dpi=300, lang="deu")
    assert by_path == by_bytes and by_path.startswith("ocr:")
    assert stratacache.file_key(b"\x89PNG fake", lang="eng", dpi=300) != by_path
    assert stratacache.make_key("user", 123, "profile", namespace="ocr") == "ocr:user:123:profile"
    with pytest.raises(TypeError):
        stratacache.file_key(123)
    with pytest.raises(TypeError):
        stratacache.file_key(b"x", when=object())


def test_compression_is_a_choice(tmp_path):
    text = ("Rechnung Nr. 1042, Betrag 12,50 EUR. " * 2000).encode()
    sizes = {}
    for compression in ("lz4", None):
        with stratacache.Cache(tmp_path / str(compression), compression=compression) as cache:
            cache.set("page", text)
            assert cache.get("page") == text
            sizes[compression] = cache.stats()["disk"]["live_bytes"]
    assert sizes["lz4"] * 3 < sizes[None]
