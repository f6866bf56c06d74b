"""stratacache against python-diskcache 5.x, measured in the same run, interleaved.

    python python/bench/bench.py            # full run (numbers for the README)
    python python/bench/bench.py --smoke    # seconds, for CI: checks that it runs

Measures, for 1 KiB and 64 KiB values: `set` and `get` (hits) rates with the default
`Cache` (a working set the 64 MiB memory tier holds) and from the disk tier alone
(`memory=0`, with and without lz4), a `memoize` hit, 4 threads reading against 1 (for
both libraries), and the time `Cache(dir)` takes to open a store of 1M entries. Each
figure is the median of the rounds; within a round the two libraries alternate, so that a
noisy machine hurts both alike.
"""

from __future__ import annotations

import argparse
import glob
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time

import diskcache
import stratacache


def ocr_text(size: int) -> bytes:
    """`size` bytes of OCR-like text: words drawn from the licence texts on the machine
    (compressible like real OCR output, about 2.5-3.5x with lz4)."""
    sources = glob.glob("/usr/share/common-licenses/*")
    words = " ".join(
        open(p, errors="replace").read() for p in sorted(sources) if os.path.isfile(p)
    ).split() or ["lorem", "ipsum", "dolor", "sit", "amet"]
    pick = random.Random(size)
    out, length = [], 0
    while length < size:
        word = pick.choice(words)
        out.append(word)
        length += len(word) + 1
    return " ".join(out).encode()[:size]


def rate(ops: int, fn) -> float:
    started = time.perf_counter()
    fn()
    return ops / (time.perf_counter() - started)


def get_loop(cache, keys, repeat):
    get = cache.get
    for _ in range(repeat):
        for k in keys:
            if get(k) is None:
                raise AssertionError(f"miss on {k}")


def set_loop(cache, keys, value):
    set_ = cache.set
    for k in keys:
        set_(k, value)


def threaded(cache, keys, repeat, threads):
    workers = [
        threading.Thread(target=get_loop, args=(cache, keys, repeat)) for _ in range(threads)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


# (label, value size, keys, stratacache options): the stratacache side of each read and
# write measure; diskcache has no options (no memory tier: the OS page cache serves it).
SCENARIOS = [
    ("1 KiB", 1024, 10_000, {}),
    ("64 KiB", 64 << 10, 500, {}),
    ("1 KiB, disk tier", 1024, 10_000, {"memory": 0}),
    ("64 KiB, disk tier", 64 << 10, 2_000, {"memory": 0}),
    ("64 KiB, disk tier, no lz4", 64 << 10, 2_000, {"memory": 0, "compression": None}),
]


def open_cache(lib: str, directory: str, options: dict):
    if lib == "diskcache":
        return diskcache.Cache(directory)
    return stratacache.Cache(directory, **options)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--open-entries", type=int, default=1_000_000)
    parser.add_argument(
        "--values",
        choices=("text", "random"),
        default="text",
        help="OCR-like text (default) or random bytes (incompressible)",
    )
    args = parser.parse_args()
    rounds = 1 if args.smoke else args.rounds
    root = tempfile.mkdtemp(prefix="stratacache-bench-")
    results: dict[str, list[float]] = {}

    def record(name: str, value: float) -> None:
        results.setdefault(name, []).append(value)

    try:
        for r in range(rounds):
            for label, size, count, options in SCENARIOS:
                if args.smoke:
                    count = 200
                value = ocr_text(size) if args.values == "text" else os.urandom(size)
                keys = [f"bench:{size}:{i}" for i in range(count)]
                repeat = 1 if args.smoke else max(1, 20_000 // count)
                for lib in ("diskcache", "stratacache"):
                    directory = os.path.join(root, f"{lib}-{r}")
                    cache = open_cache(lib, directory, options)
                    ops = rate(count, lambda: set_loop(cache, keys, value))
                    if "disk tier" not in label or "no lz4" in label:
                        record(f"set {label} {lib}", ops)
                    get_loop(cache, keys, 1)  # warm: promoted, in the page cache
                    record(f"get {label} {lib}", rate(count * repeat, lambda: get_loop(cache, keys, repeat)))
                    if label in ("1 KiB", "1 KiB, disk tier", "64 KiB, disk tier"):
                        one = rate(count * repeat, lambda: threaded(cache, keys, repeat, 1))
                        four = rate(4 * count * repeat, lambda: threaded(cache, keys, repeat, 4))
                        record(f"4 threads / 1 thread, get {label} {lib}", four / one)
                    cache.close()
                    shutil.rmtree(directory)

            calls = 200 if args.smoke else 20_000
            for lib in ("diskcache", "stratacache"):
                directory = os.path.join(root, f"memo-{lib}-{r}")
                cache = open_cache(lib, directory, {})

                @cache.memoize()
                def square(x: int) -> int:
                    return x * x

                for i in range(100):
                    square(i)

                def hits():
                    for i in range(calls):
                        square(i % 100)

                record(f"memoize hit {lib}", rate(calls, hits))
                cache.close()
                shutil.rmtree(directory)

        entries = 2_000 if args.smoke else args.open_entries
        directory = os.path.join(root, "open")
        cache = stratacache.Cache(directory, memory=0)
        batch = 10_000
        for start in range(0, entries, batch):
            cache.set_many({f"doc:{i:08}": b"x" * 16 for i in range(start, min(entries, start + batch))})
        cache.close()
        for _ in range(rounds):
            started = time.perf_counter()
            cache = stratacache.Cache(directory)
            record("open", (time.perf_counter() - started) * 1000)
            assert len(cache) == entries
            cache.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)

    med = {name: statistics.median(values) for name, values in results.items()}
    print(f"| {args.values} values, median of {rounds} rounds | stratacache | diskcache | ratio |")
    print("|---|---:|---:|---:|")
    for name in results:
        if not name.endswith(" stratacache") or name.startswith("4 threads"):
            continue
        op = name[: -len(" stratacache")]
        ours, theirs = med[name], med[f"{op} diskcache"]
        print(f"| {op} (ops/s) | {ours:,.0f} | {theirs:,.0f} | {ours / theirs:.1f}x |")
    for name in results:
        if name.startswith("4 threads") and name.endswith(" stratacache"):
            op = name[: -len(" stratacache")]
            print(f"| {op} | {med[name]:.2f}x | {med[op + ' diskcache']:.2f}x | |")
    print(f"| open a store of {entries:,} entries | {med['open']:.1f} ms | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
