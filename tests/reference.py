"""A small, literal reading of WHATWG HTML §9.2.6, used to check what the encoder emits."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass
class Parsed:
    """What a browser sees: (type, data, lastEventId) per event, and the reconnection time."""

    events: list[tuple[str, str, str]] = field(default_factory=list)
    retry: int | None = None
    last_event_id: str = ""


_LINE_END = re.compile(r"\r\n|\r|\n")


def reference_parse(stream: bytes) -> Parsed:
    """A small, literal reading of WHATWG HTML §9.2.6 for whole (not chunked) streams."""
    text = stream.decode("utf-8", "replace").removeprefix("\ufeff")
    lines = _LINE_END.split(text)
    lines.pop()  # after the last line end: an unterminated line is discarded (§9.2.6)
    out = Parsed()
    data: list[str] = []
    event_type = ""
    id_buffer = ""
    for line in lines:
        if not line:
            out.last_event_id = id_buffer  # committed at the blank line, even with no data
            if data:
                out.events.append((event_type or "message", "\n".join(data), id_buffer))
            data, event_type = [], ""
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name == "event":
            event_type = value
        elif name == "id" and "\0" not in value:
            id_buffer = value
        elif name == "retry" and value.isascii() and value.isdigit():
            out.retry = int(value)
    return out
