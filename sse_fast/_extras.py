"""Install hints for the optional frameworks that the adapters build on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def install_hint(extra: str, adapter: str) -> Iterator[None]:
    """Turn a missing framework, imported inside the block, into an ImportError that
    names the extra to install: ``pip install 'sse-fast[<extra>]'``."""
    try:
        yield
    except ModuleNotFoundError as exc:
        missing = (exc.name or extra).partition(".")[0]
        raise ModuleNotFoundError(
            f"{adapter} needs {missing}, which is not installed: pip install 'sse-fast[{extra}]'",
            name=missing,
        ) from exc
