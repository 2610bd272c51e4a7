"""Copy and pickle of ``ServerSentEvent`` subclasses, the same in both twins.

An event pickles as its five fields plus the attributes a subclass adds (its own
``__slots__`` and ``__dict__``), so that a copy of, say, the Starlette adapter's event
keeps its class and its ``sep``. Unpickling runs the base class's validating
``__init__`` (never the subclass's, whose signature may differ), then restores the
extra attributes with ``object.__setattr__``.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

_BASE_SLOTS = frozenset({"_text", "_values", "comment", "data", "event", "id", "retry"})


def extra_state(event: object, base: type) -> dict[str, object] | None:
    """The attributes that subclasses of ``base`` add to ``event``, or None."""
    cls = type(event)
    if cls is base:
        return None
    state: dict[str, object] = {}
    for klass in cls.__mro__:
        if klass is base:
            break
        slots = klass.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name in _BASE_SLOTS or name in ("__dict__", "__weakref__"):
                continue
            with suppress(AttributeError):  # a slot never set has no value to keep
                state[name] = object.__getattribute__(event, name)
    state.update(getattr(event, "__dict__", {}))
    return state


def restore(cls: Any, base: Any, fields: tuple[object, ...], state: object) -> Any:
    """A new ``cls`` event made by ``base.__init__`` from ``fields``, with ``state``."""
    data, event, id, retry, comment = fields
    made = base.__new__(cls)
    base.__init__(made, data, event=event, id=id, retry=retry, comment=comment)
    if isinstance(state, dict):
        for name, value in state.items():
            object.__setattr__(made, name, value)
    return made
