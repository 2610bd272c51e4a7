"""Copy and pickle of ``ServerSentEvent`` subclasses, the same in both twins.

An event of a subclass pickles as its five fields plus the attributes the subclass
adds (its own ``__slots__`` and ``__dict__``), so that a copy of, say, the Starlette
adapter's event keeps its class and its ``sep``. Unpickling runs the base class's
validating ``__init__`` (never the subclass's, whose signature may differ); the event's
``__setstate__`` then restores the extra attributes with ``object.__setattr__``.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

_NOT_STATE = frozenset({"_text", "_values", "__dict__", "__weakref__"})


def extra_state(event: object, base: type) -> dict[str, object]:
    """The attributes that subclasses of ``base`` add to ``event``."""
    state: dict[str, object] = {}
    for klass in type(event).__mro__:
        if klass is base:
            break
        slots = klass.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in _NOT_STATE:
                with suppress(AttributeError):  # a slot never set has no value to keep
                    state[name] = object.__getattribute__(event, name)
    state.update(getattr(event, "__dict__", {}))
    return state


def restore(cls: Any, base: Any, fields: tuple[object, ...]) -> Any:
    """A new ``cls`` event made by ``base.__init__`` from ``fields``."""
    data, event, id, retry, comment = fields
    made = base.__new__(cls)
    base.__init__(made, data, event=event, id=id, retry=retry, comment=comment)
    return made
