"""Stand-ins for the peers' private names, which sse_fast deliberately does not have.

A peer test that imports such a name still collects; it fails when it uses it, with
:class:`PeerInternalMissing` naming what it reached for. One missing name so costs only
the tests that use it, not every test in its module.
"""

from __future__ import annotations

from typing import Any, NoReturn


class PeerInternalMissing(AssertionError):
    """A peer test used a private name of the peer that sse_fast does not provide."""


class Missing:
    """Any use (call, attribute, iteration, context manager) raises PeerInternalMissing."""

    def __init__(self, qualified_name: str) -> None:
        object.__setattr__(self, "_name", qualified_name)

    def _fail(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PeerInternalMissing(f"{self._name} is a peer internal: sse_fast has no such name")

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        self._fail()

    __call__ = __iter__ = __enter__ = __aenter__ = __setattr__ = __bool__ = _fail

    def __repr__(self) -> str:
        return f"<missing peer internal {self._name}>"


def missing_names(module: str) -> Any:
    """A module ``__getattr__`` that answers every unknown public or private name."""

    def __getattr__(name: str) -> Missing:
        if name.startswith("__"):
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        return Missing(f"{module}.{name}")

    return __getattr__
