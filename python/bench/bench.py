"""stratacache against python-diskcache 5.x, measured in the same run, interleaved.

    python python/bench/bench.py            # full run (numbers for the README)
    python python/bench/bench.py --smoke    # seconds, for CI: checks that it runs

Measures, for 1 KiB and 64 KiB values: `get` (hits) and `set` rates, a `memoize` hit,
4 threads reading against 1 (the GIL is released around the store), and the time
`Cache(dir)` takes to open a store of 1M entries. Each figure is the median of the rounds;
rounds alternate between the two libraries so that a noisy machine hurts both alike.
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
        for size, count in ((1024, 10_000), (64 << 10, 1_000)):
            if args.smoke:
                count = 200
            value = ocr_text(size) if args.values == "text" else os.urandom(size)
            keys = [f"bench:{size}:{i}" for i in range(count)]
            label = f"{size // 1024} KiB"
            for r in range(rounds):
                for lib in ("diskcache", "stratacache"):
                    directory = os.path.join(root, f"{lib}-{size}-{r}")
                    cache = (
                        diskcache.Cache(directory)
                        if lib == "diskcache"
                        else stratacache.Cache(directory)
                    )
                    record(f"set {label} {lib}", rate(count, lambda: set_loop(cache, keys, value)))
                    repeat = 1 if args.smoke else max(1, 20_000 // count)
                    get_loop(cache, keys, 1)  # warm
                    record(f"get {label} {lib}", rate(count * repeat, lambda: get_loop(cache, keys, repeat)))
                    if lib == "stratacache":
                        one = rate(count * repeat, lambda: threaded(cache, keys, repeat, 1))
                        four = rate(4 * count * repeat, lambda: threaded(cache, keys, repeat, 4))
                        record(f"4 threads / 1 thread get {label}", four / one)
                    cache.close()
                    shutil.rmtree(directory)

        # memoize hits
        calls = 200 if args.smoke else 20_000
        for r in range(rounds):
            for lib in ("diskcache", "stratacache"):
                directory = os.path.join(root, f"memo-{lib}-{r}")
                cache = (
                    diskcache.Cache(directory) if lib == "diskcache" else stratacache.Cache(directory)
                )

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

        # opening a store of N entries
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
            record(f"open {entries} entries (ms)", (time.perf_counter() - started) * 1000)
            assert len(cache) == entries
            cache.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)

    med = {name: statistics.median(values) for name, values in results.items()}
    print(f"| measure ({args.values} values, {rounds} rounds, median) | stratacache | diskcache | ratio |")
    print("|---|---|---|---|")
    for op in ("get 1 KiB", "get 64 KiB", "set 1 KiB", "set 64 KiB", "memoize hit"):
        ours, theirs = med[f"{op} stratacache"], med[f"{op} diskcache"]
        print(f"| {op} (ops/s) | {ours:,.0f} | {theirs:,.0f} | {ours / theirs:.1f}x |")
    for label in ("1 KiB", "64 KiB"):
        print(f"| 4 threads / 1 thread, get {label} | {med[f'4 threads / 1 thread get {label}']:.2f}x | | |")
    key = next(k for k in med if k.startswith("open"))
    print(f"| {key} | {med[key]:.1f} | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
