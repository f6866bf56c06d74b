"""OCR results cached with stratacache from Python.

    pip install ./python
    python examples/python_ocr.py [STORE_DIR]

"Recognizes" a few pages (a stand-in for tesseract that takes 0.2 s a page), caching each
result under a key built from the page's bytes and the OCR settings. The second pass is
served from the cache; run the script again and it is served from disk, across the
restart. Sixteen threads asking for the same page at once run the OCR once.
"""

import os
import sys
import tempfile
import threading
import time

import stratacache

PAGES = [f"Seite {n}: Rechnung Nr. {1000 + n}, Betrag {n * 12.5:.2f} EUR".encode() for n in range(5)]
calls = 0


def main() -> None:
    directory = sys.argv[1] if len(sys.argv) > 1 else os.path.join(tempfile.gettempdir(), "stratacache-ocr-example")
    with stratacache.Cache(directory, capacity="1GiB", memory="64MiB") as cache:
        print(f"store: {cache.directory} ({cache.mode} mode)")

        @cache.memoize(ttl=24 * 3600, tags=["ocr"], key=lambda page, lang: stratacache.file_key(page, lang=lang))
        def recognize(page: bytes, lang: str) -> dict:
            global calls
            calls += 1
            time.sleep(0.2)  # tesseract would run here
            text = page.decode()
            return {"text": text, "language": lang, "confidence": 0.91, "words": len(text.split())}

        for attempt in ("first pass", "second pass"):
            started = time.perf_counter()
            results = [recognize(page, "deu") for page in PAGES]
            elapsed = (time.perf_counter() - started) * 1000
            print(f"{attempt}: {len(results)} pages in {elapsed:.1f} ms, OCR ran {calls} times so far")

        # Sixteen threads, one new page: one OCR run, sixteen identical answers.
        new_page = b"Seite 99: Lieferschein"
        answers = []
        threads = [threading.Thread(target=lambda: answers.append(recognize(new_page, "deu"))) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(a == answers[0] for a in answers)
        print(f"16 threads, one new page: OCR ran {calls} times in all")

        print("first result:", recognize(PAGES[0], "deu"))
        stats = cache.stats()
        print(f"hits {stats['cache']['hits']}, misses {stats['cache']['misses']}, entries on disk {stats['disk']['entries']}")
        print(f"the CLI reads the same store: stratacache --dir {cache.directory} ls --long")


if __name__ == "__main__":
    main()
