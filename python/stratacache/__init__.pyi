"""Type stubs for stratacache (the runtime module is ``__init__.py`` over ``_native``)."""

from datetime import timedelta
from os import PathLike
from typing import (
    Any,
    Awaitable,
    Callable,
    Coroutine,
    Dict,
    Iterable,
    Iterator,
    List,
    Literal,
    Mapping,
    Optional,
    Sequence,
    TypeVar,
    Union,
    overload,
)

from ._errors import (
    ClosedError as ClosedError,
    Error as Error,
    InvalidArgumentError as InvalidArgumentError,
    InvalidKeyError as InvalidKeyError,
    LockedError as LockedError,
    SerializationError as SerializationError,
    ValueTooLargeError as ValueTooLargeError,
)
from .keys import file_key as file_key, make_key as make_key

__version__: str

Key = Union[str, bytes]
"""A key: a ``str`` (stored as its UTF-8) or ``bytes``; 1 to 4096 bytes."""
Seconds = Union[int, float, timedelta]
"""A TTL: seconds, or a ``timedelta``; more than 0."""
Size = Union[int, str]
"""A size: bytes, or text like ``"64MiB"``, ``"10GiB"``."""
Tags = Union[str, Iterable[str]]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

class Cache:
    """A persistent cache in a directory, opened in this process or, when a
    ``stratacache serve`` holds the directory, reached through the server."""

    def __init__(
        self,
        directory: Union[str, "PathLike[str]"],
        *,
        capacity: Optional[Size] = None,
        memory: Optional[Size] = "64MiB",
        default_ttl: Optional[Seconds] = None,
        serializer: Literal["json", "pickle"] = "json",
        compression: Optional[Literal["lz4"]] = "lz4",
        redis: Union[str, Sequence[str], None] = None,
        redis_master: Optional[str] = None,
        redis_user: Optional[str] = None,
        redis_password: Optional[str] = None,
        redis_ca: Union[str, "PathLike[str]", None] = None,
        redis_cert: Union[str, "PathLike[str]", None] = None,
        redis_key: Union[str, "PathLike[str]", None] = None,
        redis_prefix: str = "stratacache:",
        redis_read_from_replicas: bool = False,
    ) -> None: ...
    @property
    def directory(self) -> str: ...
    @property
    def mode(self) -> Literal["local", "server"]: ...
    @property
    def serializer(self) -> Literal["json", "pickle"]: ...
    @property
    def closed(self) -> bool: ...
    @overload
    def get(self, key: Key) -> Any: ...
    @overload
    def get(self, key: Key, default: T) -> Any | T: ...
    def set(
        self, key: Key, value: Any, *, ttl: Optional[Seconds] = None, tags: Optional[Tags] = None
    ) -> None: ...
    def add(
        self, key: Key, value: Any, *, ttl: Optional[Seconds] = None, tags: Optional[Tags] = None
    ) -> bool: ...
    def delete(self, key: Key) -> bool: ...
    def __contains__(self, key: Key) -> bool: ...
    def __getitem__(self, key: Key) -> Any: ...
    def __setitem__(self, key: Key, value: Any) -> None: ...
    def __delitem__(self, key: Key) -> None: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[Key]: ...
    def get_many(self, keys: Iterable[Key]) -> Dict[Key, Any]: ...
    def set_many(self, mapping: Mapping[Key, Any], *, ttl: Optional[Seconds] = None) -> None: ...
    def ttl(self, key: Key) -> Optional[float]: ...
    def expire(self, key: Key, ttl: Seconds) -> bool: ...
    def persist(self, key: Key) -> bool: ...
    def invalidate_tag(self, tag: str) -> None: ...
    def remove_prefix(self, prefix: Key) -> int: ...
    def clear(self) -> int: ...
    def keys(self, prefix: Optional[Key] = None) -> Iterator[Key]: ...
    def stats(self) -> Dict[str, Dict[str, Any]]: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...
    def __enter__(self) -> "Cache": ...
    def __exit__(self, *exc: object) -> None: ...
    @overload
    def get_or_set(
        self,
        key: Key,
        make: Callable[[], Coroutine[Any, Any, T]],
        ttl: Optional[Seconds] = None,
        tags: Tags = (),
    ) -> Awaitable[T]: ...
    @overload
    def get_or_set(
        self, key: Key, make: Callable[[], T], ttl: Optional[Seconds] = None, tags: Tags = ()
    ) -> T: ...
    @overload
    def memoize(
        self,
        ttl: Optional[Seconds] = None,
        tags: Tags = (),
        key: Optional[Callable[..., Key]] = None,
    ) -> Callable[[F], F]: ...
    @overload
    def memoize(self, ttl: F) -> F: ...

__all__: List[str]
