"""Stub for the compiled framing twin; it mirrors ``_framing_py`` exactly."""

from collections.abc import Iterable
from datetime import timedelta

from typing_extensions import disjoint_base

@disjoint_base
class ServerSentEvent:
    @property
    def data(self) -> str | bytes | None: ...
    @property
    def event(self) -> str | None: ...
    @property
    def id(self) -> str | None: ...
    @property
    def retry(self) -> int | None: ...
    @property
    def comment(self) -> str | None: ...
    def __init__(
        self,
        data: str | bytes | None = None,
        *,
        event: str | None = None,
        id: str | None = None,
        retry: int | timedelta | None = None,
        comment: str | None = None,
    ) -> None: ...
    def encode(self, sep: str = "\n") -> bytes: ...
    def _fields(self) -> tuple[object, ...]: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...
    def __reduce__(self) -> tuple[object, tuple[object, ...]]: ...

def encode(
    data: str | bytes | None = None,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | timedelta | None = None,
    comment: str | None = None,
    sep: str = "\n",
) -> bytes: ...
def encode_many(events: Iterable[ServerSentEvent | str], sep: str = "\n") -> bytes: ...
def _restore(
    data: str | bytes | None,
    event: str | None,
    id: str | None,
    retry: int | None,
    comment: str | None,
) -> ServerSentEvent: ...
