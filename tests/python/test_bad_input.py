"""Bad input to every entry point: a clear exception of the right class, naming the key or
directory, and nothing lost. Both modes."""

import math
from datetime import timedelta

import pytest

import stratacache

BAD_KEYS = [
    ("", stratacache.InvalidKeyError, "empty"),
    (b"", stratacache.InvalidKeyError, "empty"),
    ("k" * 4097, stratacache.InvalidKeyError, "4096"),
    (1, TypeError, "keys are str or bytes"),
    (None, TypeError, "keys are str or bytes"),
    (("a",), TypeError, "keys are str or bytes"),
    (bytearray(b"k"), TypeError, "keys are str or bytes"),
]

ENTRY_POINTS = {
    "get": lambda c, k: c.get(k),
    "set": lambda c, k: c.set(k, 1),
    "delete": lambda c, k: c.delete(k),
    "contains": lambda c, k: k in c,
    "getitem": lambda c, k: c[k],
    "setitem": lambda c, k: c.__setitem__(k, 1),
    "delitem": lambda c, k: c.__delitem__(k),
    "ttl": lambda c, k: c.ttl(k),
    "expire": lambda c, k: c.expire(k, 5),
    "persist": lambda c, k: c.persist(k),
    "get_many": lambda c, k: c.get_many(["ok", k]),
    "set_many": lambda c, k: c.set_many({"ok": 1, k: 2}),
    "get_or_set": lambda c, k: c.get_or_set(k, lambda: 1),
}


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_bad_keys_everywhere(cache, name):
    cache.set("keep", "kept")
    call = ENTRY_POINTS[name]
    for key, error, words in BAD_KEYS:
        if name == "set_many" and not isinstance(key, (str, bytes, int, tuple, type(None))):
            continue  # unhashable: not a dict key at all
        with pytest.raises(error, match=words):
            call(cache, key)
    assert cache.get("keep") == "kept"
    assert "ok" not in cache  # a batch with one bad key stores nothing


def test_invalid_key_errors_are_value_errors_naming_the_key(cache):
    with pytest.raises(ValueError) as raised:
        cache.set("x" * 5000, 1)
    assert isinstance(raised.value, stratacache.Error)
    assert "xxxx" in str(raised.value) and "5000" in str(raised.value)


@pytest.mark.parametrize(
    "value",
    [{1, 2}, object(), float("nan"), {"nested": [math.inf]}, lambda: 1, b"ok".decode],
)
def test_unserializable_values_are_type_errors_naming_the_key(cache, value):
    with pytest.raises(TypeError) as raised:
        cache.set("the-key", value)
    assert isinstance(raised.value, stratacache.SerializationError)
    assert "the-key" in str(raised.value)
    assert "the-key" not in cache
    with pytest.raises(stratacache.SerializationError):
        cache.set_many({"fine": 1, "the-key": value})
    assert "fine" not in cache


@pytest.mark.parametrize(
    "ttl, error",
    [
        (0, ValueError),
        (-1, ValueError),
        (timedelta(seconds=-5), ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        ("60", TypeError),
        (True, TypeError),
        ([1], TypeError),
    ],
)
def test_bad_ttls(cache, ttl, error):
    cache.set("k", 1)
    with pytest.raises(error, match="ttl"):
        cache.set("new", 1, ttl=ttl)
    with pytest.raises(error, match="ttl"):
        cache.expire("k", ttl)
    with pytest.raises(error, match="ttl"):
        cache.set_many({"new": 1}, ttl=ttl)
    assert "new" not in cache and cache.ttl("k") is None


def test_expire_needs_a_ttl(cache):
    cache.set("k", 1)
    with pytest.raises(TypeError, match="persist"):
        cache.expire("k", None)


@pytest.mark.parametrize(
    "tags, error",
    [
        ([""], ValueError),
        (["t" * 257], ValueError),
        ([f"t{i}" for i in range(65)], ValueError),
        ([1], TypeError),
        (5, TypeError),
    ],
)
def test_bad_tags(cache, tags, error):
    with pytest.raises(error, match="tag"):
        cache.set("k", 1, tags=tags)
    assert "k" not in cache
    if isinstance(tags, list) and len(tags) == 1:
        with pytest.raises(error):
            cache.invalidate_tag(tags[0])


def test_bad_prefixes_and_batches(cache):
    with pytest.raises(TypeError, match="prefix"):
        cache.remove_prefix(5)
    with pytest.raises(TypeError, match="prefix"):
        cache.keys(5)
    with pytest.raises(TypeError, match="single key"):
        cache.get_many("abc")
    with pytest.raises(TypeError):
        cache.get_many(5)
    with pytest.raises(TypeError, match="mapping"):
        cache.set_many([("a", 1)])


def test_bad_constructor_arguments(tmp_path):
    with pytest.raises(ValueError, match="capacity"):
        stratacache.Cache(tmp_path / "a", capacity="10 parsecs")
    with pytest.raises(ValueError, match="capacity"):
        stratacache.Cache(tmp_path / "a", capacity=-1)
    with pytest.raises(TypeError, match="memory"):
        stratacache.Cache(tmp_path / "a", memory=1.5)
    with pytest.raises(ValueError, match="default_ttl"):
        stratacache.Cache(tmp_path / "a", default_ttl=0)
    with pytest.raises(ValueError, match="serializer"):
        stratacache.Cache(tmp_path / "a", serializer="yaml")
    with pytest.raises(ValueError, match="compression"):
        stratacache.Cache(tmp_path / "a", compression="zstd")
    with pytest.raises(TypeError):
        stratacache.Cache(tmp_path / "a", 5)  # options are keywords
    with pytest.raises(TypeError):
        stratacache.Cache(None)


def test_a_directory_that_is_not_a_store(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"meow")
    with pytest.raises(stratacache.Error) as raised:
        stratacache.Cache(tmp_path / "photos")
    assert str(tmp_path / "photos") in str(raised.value)
    assert (tmp_path / "photos" / "cat.jpg").read_bytes() == b"meow"
    (tmp_path / "file").write_bytes(b"x")
    with pytest.raises(stratacache.Error, match="file"):
        stratacache.Cache(tmp_path / "file")


def test_a_value_over_the_limit(cache):
    with pytest.raises(stratacache.ValueTooLargeError) as raised:
        cache.set("huge", b"x" * ((64 << 20) + 1))
    assert isinstance(raised.value, ValueError) and "huge" in str(raised.value)
    assert "huge" not in cache


def test_a_pickle_is_not_unpickled_without_asking(tmp_path):
    with stratacache.Cache(tmp_path / "s", serializer="pickle") as cache:
        cache.set("p", {1})
    with stratacache.Cache(tmp_path / "s") as cache:
        with pytest.raises(stratacache.SerializationError, match='"p".*pickle'):
            cache.get("p")
        with pytest.raises(stratacache.SerializationError):
            cache.get_many(["p"])
