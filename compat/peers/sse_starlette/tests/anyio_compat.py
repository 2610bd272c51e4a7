"""``collapse_excgroups`` for the peer's tests (their sdist leaves this module out)."""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from contextlib import contextmanager

# Python >= 3.11, as the peer requires (this project's linters target 3.10).
_GROUP: type[BaseException] = builtins.BaseExceptionGroup  # type: ignore[attr-defined]


@contextmanager
def collapse_excgroups() -> Iterator[None]:
    """Re-raise the only exception of a task group's exception group, as the tests expect."""
    try:
        yield
    except _GROUP as group:
        error: BaseException = group
        while isinstance(error, _GROUP) and len(error.exceptions) == 1:  # type: ignore[attr-defined]
            error = error.exceptions[0]  # type: ignore[attr-defined]
        raise error from None
