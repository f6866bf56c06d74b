"""The native module (Rust, PyO3). Use ``stratacache.Cache``, which subclasses this one."""

from typing import Any, Iterator

__version__: str

class Cache:
    def __init__(self, directory: Any, **options: Any) -> None: ...
    def __getattr__(self, name: str) -> Any: ...

class KeyIterator(Iterator[Any]):
    def __next__(self) -> Any: ...

def _after_fork() -> None: ...
