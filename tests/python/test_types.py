"""The type stubs describe the API: a typical program type-checks with mypy --strict."""

import subprocess
import sys
import textwrap

PROGRAM = """
from datetime import timedelta

import stratacache

cache = stratacache.Cache("/tmp/x", capacity="1GiB", default_ttl=timedelta(days=1))
cache.set("a", {"x": 1}, ttl=5, tags=["t"])
value = cache.get("a", 0)
removed: int = cache.remove_prefix("a")
left: float | None = cache.ttl("a")
found: dict[str | bytes, object] = cache.get_many(["a", b"b"])
for key in cache.keys("doc:"):
    print(key)


@cache.memoize(ttl=60, tags=["ocr"])
def recognize(page: int) -> str:
    return str(page)


@cache.memoize
async def fetch(doc: int) -> dict[str, int]:
    return {}


text: str = recognize(1)
ocr_key: str = stratacache.file_key(b"%PDF", lang="deu")
try:
    stratacache.Cache("/tmp/y")
except stratacache.LockedError as error:
    pid: int | None = error.pid
"""


def mypy(tmp_path, program):
    source = tmp_path / "program.py"
    source.write_text(textwrap.dedent(program))
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(source)],
        capture_output=True,
        text=True,
    )


def test_a_typical_program_type_checks(tmp_path):
    result = mypy(tmp_path, PROGRAM)
    assert result.returncode == 0, result.stdout + result.stderr


def test_wrong_arguments_do_not(tmp_path):
    result = mypy(
        tmp_path,
        """
        import stratacache
        cache = stratacache.Cache("/tmp/x", capacity=[1])
        cache.set(1, "v", ttl="5")
        """,
    )
    assert result.returncode == 1
    assert result.stdout.count("error:") == 3, result.stdout
