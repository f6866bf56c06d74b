"""Building cache keys: from parts, from a function call, from a file and its OCR
parameters."""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Callable, Mapping, Tuple, Union

BytesOrPath = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]"]


def make_key(*parts: Any, namespace: str = "") -> str:
    """Joins parts with ``:`` (``make_key("user", 123, "profile")`` gives
    ``"user:123:profile"``), after ``namespace`` when given."""
    text = ":".join(str(p) for p in parts)
    return f"{namespace}:{text}" if namespace else text


def call_key(function: Callable[..., Any], args: Tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
    """The key ``memoize`` stores a call under: the function's module and qualified name,
    then a hash of the arguments' ``repr`` (so equal arguments with a stable ``repr`` give the
    same key in every process). Pass ``key=`` to ``memoize`` for arguments whose ``repr``
    is not stable (objects printed with their address)."""
    name = f"{getattr(function, '__module__', '?')}.{getattr(function, '__qualname__', repr(function))}"
    text = repr((args, sorted(kwargs.items()))) if kwargs else repr(args)
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    return f"memoize:{name}:{digest}"


def file_key(source: BytesOrPath, *, namespace: str = "ocr", **params: Any) -> str:
    """A key for a file's content and the parameters it was processed with, e.g.
    ``file_key(pdf_bytes, lang="deu", dpi=300)`` or ``file_key("scan.png", engine="tesseract")``.

    ``source`` is the file's bytes or its path (read in 1 MiB chunks). The key is
    ``"<namespace>:<sha256 of the bytes>:<hash of the parameters>"``: the same file with the
    same parameters gives the same key on every machine, and changing either gives a new
    one. Parameters must be JSON values."""
    content = hashlib.sha256()
    if isinstance(source, (bytes, bytearray, memoryview)):
        content.update(source)
    elif isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as file:
            for chunk in iter(lambda: file.read(1 << 20), b""):
                content.update(chunk)
    else:
        raise TypeError(f"file_key takes bytes or a path, not {type(source).__name__}")
    try:
        settings = json.dumps(params, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise TypeError(f"file_key parameters must be JSON values: {error}") from None
    digest = hashlib.blake2b(settings.encode(), digest_size=8).hexdigest()
    return f"{namespace}:{content.hexdigest()}:{digest}"
