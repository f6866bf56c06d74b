"""stratacache: a persistent, tiered cache for Python.

Values live in a directory (memory in front, mmapped segment files on disk) and survive
restarts. One process opens a directory directly; to share one between processes (gunicorn
workers, Celery, other languages), run ``stratacache --dir DIR serve`` and every
``Cache(DIR)`` talks to that server instead, with the same API.

    >>> import stratacache
    >>> with stratacache.Cache("/tmp/cache") as cache:
    ...     cache.set("greeting", "hello", ttl=60)
    ...     cache.get("greeting")
    'hello'
"""

from __future__ import annotations

import inspect
import os
from functools import wraps
from typing import Any, Callable, Optional

from . import _native
from ._errors import (
    ClosedError,
    Error,
    InvalidArgumentError,
    InvalidKeyError,
    LockedError,
    SerializationError,
    ValueTooLargeError,
)
from ._flight import TaskFlights, ThreadFlights
from .keys import call_key, file_key, make_key

__all__ = [
    "Cache",
    "ClosedError",
    "Error",
    "InvalidArgumentError",
    "InvalidKeyError",
    "LockedError",
    "SerializationError",
    "ValueTooLargeError",
    "file_key",
    "make_key",
]
__version__: str = _native.__version__

os.register_at_fork(after_in_child=_native._after_fork)

_MISSING = object()


class Cache(_native.Cache):
    """A persistent cache in a directory. See the package docstring and ``help()`` on each
    method. Thread safe; a context manager (closing at the end of the ``with``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The store was opened by _native.Cache.__new__ with the same arguments.
        self._threads = ThreadFlights()
        self._tasks = TaskFlights()

    def __enter__(self) -> "Cache":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def get_or_set(self, key, make: Callable[[], Any], ttl=None, tags=()):
        """The value under ``key``; when there is none, ``make()``'s result, stored under
        ``key`` (with ``ttl`` and ``tags``) and returned. Concurrent callers for the same
        key in this process run ``make`` once; across processes the first value stored
        wins, and every caller returns it. When ``make`` is an ``async def`` function, this
        returns an awaitable."""
        if inspect.iscoroutinefunction(make):
            return self._get_or_set_async(key, make, ttl, tags)
        value = self.get(key, _MISSING)
        if value is not _MISSING:
            return value
        return self._load(key, make, ttl, tags)

    def _load(self, key, make, ttl, tags):
        """After a miss: runs ``make`` once for all concurrent callers and stores its
        result."""

        def load() -> Any:
            # Another caller may have stored it while this one waited to lead.
            found = self.get(key, _MISSING)
            if found is not _MISSING:
                return found
            return self._keep_first(key, make(), ttl, tags)

        return self._threads.run(key, load)

    def _keep_first(self, key, made, ttl, tags):
        """Stores ``made`` unless another process stored a value first; returns the value
        kept."""
        if self.add(key, made, ttl=ttl, tags=tags):
            return made
        found = self.get(key, _MISSING)
        # The other value may have expired or been evicted since: ours is as good.
        return made if found is _MISSING else found

    async def _get_or_set_async(self, key, make, ttl, tags):
        value = self.get(key, _MISSING)
        if value is not _MISSING:
            return value
        return await self._load_async(key, make, ttl, tags)

    async def _load_async(self, key, make, ttl, tags):
        async def load() -> Any:
            found = self.get(key, _MISSING)
            if found is not _MISSING:
                return found
            return self._keep_first(key, await make(), ttl, tags)

        return await self._tasks.run(key, load)

    def memoize(self, ttl=None, tags=(), key: Optional[Callable[..., Any]] = None):
        """Decorator caching a function's results, for plain and ``async def`` functions.

        The key is built from the function's name and a hash of its arguments' ``repr``,
        or by ``key(*args, **kwargs)`` when given. Concurrent calls with the same key run
        the function once; an exception reaches every waiting caller and is not cached.
        ``wrapper.cache_key(*args, **kwargs)`` gives the key of a call (to delete it)."""

        def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
            def key_of(*args: Any, **kwargs: Any) -> Any:
                if key is not None:
                    return key(*args, **kwargs)
                return call_key(function, args, kwargs)

            if inspect.iscoroutinefunction(function):

                @wraps(function)
                async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                    k = key_of(*args, **kwargs)
                    value = self.get(k, _MISSING)
                    if value is not _MISSING:
                        return value
                    return await self._load_async(
                        k, lambda: function(*args, **kwargs), ttl, tags
                    )

                async_wrapper.cache_key = key_of  # type: ignore[attr-defined]
                return async_wrapper

            @wraps(function)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                k = key_of(*args, **kwargs)
                value = self.get(k, _MISSING)
                if value is not _MISSING:
                    return value
                return self._load(k, lambda: function(*args, **kwargs), ttl, tags)

            wrapper.cache_key = key_of  # type: ignore[attr-defined]
            return wrapper

        if callable(ttl) and not isinstance(ttl, (int, float)):
            # Used bare: @cache.memoize
            function, ttl = ttl, None
            return decorate(function)
        return decorate
