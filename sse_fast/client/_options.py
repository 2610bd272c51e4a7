"""What the async and sync event sources share: options, checked when the source is
made, the request, the reading of a response's head, and the bookkeeping between
connections (WHATWG HTML §9.2.3)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from .._decoder import Decoder
from .._errors import DEFAULT_MAX_EVENT_SIZE
from .._framing import ServerSentEvent
from ._event import Event, EventStreamError, Reconnecting
from ._libraries import Library, Opened, describe, library_of
from ._reconnect import Backoff, Reconnection

if TYPE_CHECKING:
    import aiohttp
    import httpx
    import httpx2
    import requests

    AsyncClient = httpx.AsyncClient | httpx2.AsyncClient | aiohttp.ClientSession
    SyncClient = httpx.Client | httpx2.Client | requests.Session

__all__ = ["DEFAULT_RETRY", "Options", "check_head", "received", "stream_error"]

DEFAULT_RETRY = 3000  # ms: "probably in the region of a few seconds" (§9.2.3)
logger = logging.getLogger("sse_fast.client")
logger.addHandler(logging.NullHandler())  # a library's records are the application's to show

new_event = tuple.__new__


def received(decoded: list[ServerSentEvent]) -> list[Event]:
    """Decoded events as ``Event``: built from the tuple of fields, skipping the
    keyword-handling constructor (this runs once per event)."""
    return [new_event(Event, (e.data, e.event, e.id)) for e in decoded]


def check_head(opened: Opened) -> bool:
    """True when the response is an event stream; False when it is not."""
    media_type = opened.content_type.partition(";")[0].strip().lower()
    return opened.status == 200 and media_type == "text/event-stream"


def stream_error(opened: Opened, body: bytes) -> EventStreamError:
    message = (
        f"expected status 200 and Content-Type text/event-stream, got status "
        f"{opened.status} and Content-Type {opened.content_type!r}"
    )
    if body:
        text = body.decode("utf-8", "replace")
        message += f"; body: {text if len(text) <= 200 else text[:200] + '...'}"
    return EventStreamError(
        message, status=opened.status, headers=opened.headers, body=body, response=opened.response
    )


def _check_number(name: str, value: object, *, minimum: float, allow_float: bool) -> None:
    kinds = (int, float) if allow_float else (int,)
    if isinstance(value, bool) or not isinstance(value, kinds) or not value >= minimum:
        kind = "a number" if allow_float else "an int"
        bound = ">= 0" if minimum == 0 else "> 0"
        raise ValueError(f"{name} must be {kind} {bound}, got {value!r}")


ClientT = TypeVar("ClientT")


class Options(Generic[ClientT]):
    """What both sources share: options, checked at once, and the per-attempt rules."""

    _kinds: ClassVar[Mapping[str, str]]  # the clients this source reads through
    _other_kinds: ClassVar[Mapping[str, str]]
    _other_hint: ClassVar[str]  # said when given a client of the other kind

    def __init__(
        self,
        client: ClientT,
        url: str,
        *,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        last_event_id: str = "",
        retry: int = DEFAULT_RETRY,
        max_reconnects: int | None = None,
        idle_timeout: float | None = None,
        backoff: Backoff | None = None,
        on_reconnect: Callable[[Reconnecting], object] | None = None,
        on_bytes: Callable[[bytes], object] | None = None,
        max_event_size: int | None = DEFAULT_MAX_EVENT_SIZE,
        **request: Any,
    ) -> None:
        library = library_of(client, self._kinds)
        if library is None:
            other = library_of(client, self._other_kinds)
            hint = f" ({self._other_hint.format(other)})" if other else ""
            raise TypeError(
                f"client must be one of {describe(self._kinds)}, not {type(client).__name__}{hint}"
            )
        if not isinstance(method, str) or not method:
            raise ValueError(f"method must be a non-empty str, got {method!r}")
        _check_number("retry", retry, minimum=0, allow_float=False)
        if max_reconnects is not None:
            _check_number("max_reconnects", max_reconnects, minimum=0, allow_float=False)
        if idle_timeout is not None:
            _check_number("idle_timeout", idle_timeout, minimum=1e-9, allow_float=True)
        if backoff is not None and not isinstance(backoff, Backoff):
            raise TypeError(f"backoff must be a Backoff, got {backoff!r}")
        for name, hook in (("on_reconnect", on_reconnect), ("on_bytes", on_bytes)):
            if hook is not None and not callable(hook):
                raise TypeError(f"{name} must be callable, got {hook!r}")
        self._client = client
        self._library = Library(library)
        self._url = url
        self._method = method
        self._headers = dict(headers or {})
        self._default_retry = retry
        self._idle_timeout = idle_timeout
        self._on_reconnect = on_reconnect
        self._on_bytes = on_bytes
        self._request = self._library.request_options(client, request, idle_timeout)
        self._decoder = Decoder(last_event_id, max_event_size=max_event_size)
        self._reconnection = Reconnection(backoff or Backoff(), max_reconnects)
        self._clock: Callable[[], float] = time.monotonic
        self.response: Any = None

    @property
    def last_event_id(self) -> str:
        """Sent as ``Last-Event-ID`` on each reconnection."""
        return self._decoder.last_event_id

    @property
    def retry(self) -> int:
        """Milliseconds to wait before reconnecting: the stream's ``retry``, else the default."""
        return self._default_retry if self._decoder.retry is None else self._decoder.retry

    @property
    def reconnects(self) -> int:
        """Reconnections made so far."""
        return self._reconnection.reconnects

    def _request_headers(self) -> dict[str, Any]:
        headers: dict[str, Any] = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
        headers.update(self._headers)
        if self.last_event_id:
            headers["Last-Event-ID"] = self._library.header_value(self.last_event_id)
        return headers

    def _reason(self, error: BaseException | None, opened: bool) -> str:
        if error is None:
            return "the stream ended"
        if isinstance(error, self._library.idle_errors) and self._idle_timeout is not None:
            return f"no byte for {self._idle_timeout:g} s"
        detail = str(error) or type(error).__name__
        return f"{'connection lost' if opened else 'could not connect'}: {detail}"

    def _plan(self, error: BaseException | None, opened: bool) -> float | None:
        """Seconds to wait before reconnecting (reported first); None: stop."""
        self._decoder.close()  # the event cut off, if any, is dropped (§9.2.6)
        now = self._clock()
        plan = self._reconnection.next(
            now,
            retry_ms=self.retry,
            reason=self._reason(error, opened),
            error=error,
            last_event_id=self.last_event_id,
        )
        if plan is None:
            if error is not None:
                raise error
            return None
        resume_at, info = plan
        logger.log(logging.INFO if error is None else logging.WARNING, "%s: %s", self._url, info)
        if self._on_reconnect is not None:
            self._on_reconnect(info)
        return max(0.0, resume_at - self._clock())
