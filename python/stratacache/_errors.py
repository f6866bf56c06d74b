"""The exceptions stratacache raises. Every message names the directory or key involved."""


class Error(Exception):
    """Base class of every error stratacache raises (besides ``KeyError`` from ``cache[key]``)."""


class LockedError(Error):
    """The directory is held by another process that is not a ``stratacache serve``.

    Only one process opens a store directly. To share one directory between processes,
    run ``stratacache --dir DIR serve``: every ``Cache(DIR)`` then talks to that server.

    Attributes:
        directory: the store directory.
        pid: the process holding it, when known.
    """

    def __init__(self, message: str, directory: str, pid: "int | None") -> None:
        super().__init__(message)
        self.directory = directory
        self.pid = pid


class InvalidKeyError(Error, ValueError):
    """A key that cannot be stored: empty, or longer than the key limit (4096 bytes)."""


class SerializationError(Error, TypeError):
    """A value that cannot be stored as JSON (or pickled), or a stored value that does not
    decode as what it says it is."""


class ValueTooLargeError(Error, ValueError):
    """A value larger than the store's value limit (64 MiB unless the store was made with
    another)."""


class ClosedError(Error):
    """The cache was closed (``close()`` or the end of a ``with`` block)."""


class InvalidArgumentError(Error, ValueError):
    """An argument out of range: a bad tag (empty, over 256 bytes, more than 64 on one
    value), a size or TTL the store cannot take."""
