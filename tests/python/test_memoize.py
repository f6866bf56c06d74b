"""memoize and get_or_set: caching, single flight with threads and with asyncio, errors
that reach every waiter and are not cached. Both modes."""

import asyncio
import threading
import time

import pytest

import stratacache


def test_memoize_caches_by_arguments(cache):
    calls = []

    @cache.memoize(ttl=60, tags=["ocr"])
    def recognize(page, lang="deu"):
        calls.append((page, lang))
        return {"page": page, "lang": lang, "text": f"text of {page}"}

    assert recognize(1) == {"page": 1, "lang": "deu", "text": "text of 1"}
    assert recognize(1) == recognize(1)
    assert recognize(1, lang="eng")["lang"] == "eng"
    assert calls == [(1, "deu"), (1, "eng")]
    key = recognize.cache_key(1)
    assert key in cache and 59 < cache.ttl(key) <= 60
    cache.invalidate_tag("ocr")
    recognize(1)
    assert len(calls) == 3
    assert recognize.__name__ == "recognize"


def test_memoize_bare_and_custom_key(cache):
    @cache.memoize
    def double(x):
        return x * 2

    assert double(4) == 8 and double(4) == 8

    @cache.memoize(key=lambda user_id: f"user:{user_id}")
    def profile(user_id):
        return {"id": user_id}

    profile(5)
    assert cache.get("user:5") == {"id": 5}


def test_memoize_caches_none(cache):
    calls = []

    @cache.memoize()
    def nothing():
        calls.append(1)

    assert nothing() is None and nothing() is None
    assert len(calls) == 1


def test_single_flight_with_16_threads(cache):
    calls = []
    barrier = threading.Barrier(16)

    @cache.memoize()
    def slow(x):
        calls.append(x)
        time.sleep(0.3)
        return x + 1

    results = []

    def worker():
        barrier.wait()
        results.append(slow(41))

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [42] * 16
    assert calls == [41]


def test_exception_reaches_every_waiter_and_is_not_cached(cache):
    calls = []
    barrier = threading.Barrier(8)

    @cache.memoize()
    def failing(x):
        calls.append(x)
        time.sleep(0.2)
        raise RuntimeError(f"OCR failed for {x}")

    errors = []

    def worker():
        barrier.wait()
        try:
            failing(1)
        except RuntimeError as e:
            errors.append(str(e))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == ["OCR failed for 1"] * 8
    assert len(calls) == 1
    assert failing.cache_key(1) not in cache
    with pytest.raises(RuntimeError):
        failing(1)
    assert len(calls) == 2


def test_get_or_set(cache):
    made = []

    def make():
        made.append(1)
        return {"v": 1}

    assert cache.get_or_set("k", make, ttl=30) == {"v": 1}
    assert cache.get_or_set("k", make) == {"v": 1}
    assert made == [1]
    assert 29 < cache.ttl("k") <= 30


def test_async_memoize_single_flight(cache):
    calls = []

    @cache.memoize(ttl=60)
    async def fetch(doc):
        calls.append(doc)
        await asyncio.sleep(0.2)
        return {"doc": doc}

    async def main():
        results = await asyncio.gather(*(fetch(7) for _ in range(16)))
        assert results == [{"doc": 7}] * 16
        assert await fetch(7) == {"doc": 7}
        assert calls == [7]

        failures = []

        @cache.memoize()
        async def broken():
            failures.append(1)
            await asyncio.sleep(0.1)
            raise ValueError("bad page")

        outcomes = await asyncio.gather(*(broken() for _ in range(5)), return_exceptions=True)
        assert all(isinstance(o, ValueError) for o in outcomes)
        assert failures == [1]
        with pytest.raises(ValueError):
            await broken()
        assert failures == [1, 1]

    asyncio.run(main())


def test_async_get_or_set(cache):
    async def make():
        await asyncio.sleep(0.01)
        return "made"

    async def main():
        assert await cache.get_or_set("ak", make) == "made"
        assert cache.get("ak") == "made"

    asyncio.run(main())


def test_a_cancelled_waiter_does_not_cancel_the_others(cache):
    calls = []

    @cache.memoize()
    async def slow():
        calls.append(1)
        await asyncio.sleep(0.3)
        return "done"

    async def main():
        first = asyncio.ensure_future(slow())
        second = asyncio.ensure_future(slow())
        await asyncio.sleep(0.05)
        first.cancel()
        assert await second == "done"
        assert calls == [1]

    asyncio.run(main())


def test_memoize_values_must_be_storable(cache):
    @cache.memoize()
    def unstorable():
        return {1, 2}

    with pytest.raises(stratacache.SerializationError):
        unstorable()
