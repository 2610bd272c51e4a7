# cython: language_level=3
"""Compiled twin of the decoder; ``_decoder_py.py`` is the reference: same events, same
state, same exceptions for every input.

Lines are found with ``memchr`` over explicit lengths (NUL is an ordinary byte) and
interpreted in place; only a line split across chunks is copied. Data values are copied
raw into one buffer and decoded once, at dispatch, with ``errors="replace"``: CR, LF,
``:`` and SPACE never occur inside a multi-byte UTF-8 sequence and the UTF-8 decoder
resynchronises on them, so this equals decoding the stream first (WHATWG HTML §9.2.6
decodes, then splits). Events are built in C, without the validating constructor,
through the event type that ``_framing_c.pxd`` exports.

The steps have the pure twin's names without the leading underscore: ``feed``,
``restart``, ``scan``, ``extend_line``, ``interpret``, ``append_data``, ``set_retry``,
``dispatch``; ``decoded_event`` is ``_framing_py._decoded_event``.
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from cpython.object cimport PyObject
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.string cimport memchr, memcmp, memcpy

from sse_fast._framing_c cimport MULTILINE, ServerSentEvent, Text, text_of_str

from sse_fast import _errors

cdef extern from "Python.h":
    bint PyBytes_Check(object)
    bint PyUnicode_IS_ASCII(object)
    void* PyUnicode_DATA(object)
    Py_ssize_t PyUnicode_GET_LENGTH(object)
    void PyObject_GC_UnTrack(void* op)

cdef object _MESSAGE = "message"
cdef object _EMPTY = ""
cdef unsigned long long _MAX_RETRY = 9223372036854775807ULL  # 2**63 - 1
# A line or data buffer this large is given back once emptied, not kept for the stream.
cdef Py_ssize_t _KEEP_CAPACITY = 1 << 20


cdef int grow(char** buf, Py_ssize_t* cap, Py_ssize_t need) except -1:
    cdef Py_ssize_t new_cap = cap[0] * 2 if cap[0] else 256
    cdef char* p
    while new_cap < need:
        new_cap *= 2
    p = <char*>PyMem_Realloc(buf[0], new_cap)
    if p == NULL:
        raise MemoryError()
    buf[0] = p
    cap[0] = new_cap
    return 0


cdef inline int decoded_text(Text* t, str value, Py_ssize_t breaks) except -1:
    """Measure a decoded value: it holds ``breaks`` LFs, no CR and no lone surrogate."""
    if PyUnicode_IS_ASCII(value):
        t.kind = 0
        t.ptr = <const char*>PyUnicode_DATA(value)
        t.n = t.size = PyUnicode_GET_LENGTH(value)
        t.eol = t.breaks = breaks
        return 0
    return text_of_str(t, value, MULTILINE, "data")


cdef ServerSentEvent decoded_event(str data, Py_ssize_t breaks, str event, str id):
    """An event from decoded values, which are valid by construction; its frame is
    measured as ``prepare()`` would, without searching for what is known."""
    cdef ServerSentEvent ev = ServerSentEvent.__new__(ServerSentEvent)
    ev.data = data
    ev.event = event
    ev.id = id
    ev.frame.has_data = ev.frame.has_event = ev.frame.has_id = True
    ev.initialized = True
    decoded_text(&ev.frame.data, data, breaks)
    decoded_text(&ev.frame.event, event, 0)
    decoded_text(&ev.frame.id, id, 0)
    # Its fields are exact str objects, so it can never be part of a reference cycle;
    # untracked, it costs the cyclic GC nothing (as CPython does for tuples of atoms).
    PyObject_GC_UnTrack(<PyObject*>ev)
    return ev


cdef inline object decoded(const char* p, Py_ssize_t n):
    return PyUnicode_DecodeUTF8(p, n, "replace")


@cython.auto_pickle(False)  # a parser in mid-stream is not a value to copy
cdef class Decoder:
    """An incremental SSE parser: bytes in, ``ServerSentEvent`` objects out.

    ``feed(chunk)`` returns the events completed by ``chunk`` (each as soon as its
    blank line is read, even a lone CR at the end of the chunk); ``close()`` ends the
    stream and drops the incomplete event, as browsers do. Events carry ``event``
    (the type, ``"message"`` by default), ``data`` and ``id`` (the last event ID
    when the event was dispatched).

    ``last_event_id`` is the last event ID committed by a blank line (seed it with
    the ID of a previous connection); ``retry`` is the latest valid ``retry`` field
    in milliseconds (ASCII digits only, capped at 2**63 - 1), or None.

    ``max_event_size`` bounds the bytes buffered for one event: its data (one byte
    more per data line) and any single line. Past it ``feed()`` raises
    ``EventTooLarge`` (a ``ValueError``); None removes the bound. That ends the stream:
    the pending event, the line and an uncommitted id are dropped, and ``feed()``
    raises ``RuntimeError`` until ``close()`` starts a new one.

    A decoder holds the state of one stream: use it from one thread at a time.
    """

    cdef readonly str last_event_id
    cdef readonly object retry
    cdef str id_buffer
    cdef str event_type
    cdef Py_ssize_t limit
    cdef char* line      # the incomplete last line, when a chunk ended inside one
    cdef Py_ssize_t line_len, line_cap
    cdef char* data      # raw data values of the pending event, each followed by LF
    cdef Py_ssize_t data_len, data_cap
    cdef Py_ssize_t data_lines
    cdef char head[3]    # bytes seen while the BOM is undecided
    cdef int head_len    # -1 once the stream start is past
    cdef bint pending_cr  # the last chunk ended with CR: an LF next is its pair
    cdef bint busy
    cdef bint failed     # EventTooLarge was raised: feed() refuses until close()

    def __cinit__(self):
        # A decoder that no __init__ fills (Decoder.__new__, a subclass skipping it) is
        # Decoder(), as in the pure twin.
        self.last_event_id = self.id_buffer = _EMPTY
        self.limit = _errors.DEFAULT_MAX_EVENT_SIZE
        self.retry = None
        self.restart()

    def __init__(self, last_event_id="", *, max_event_size=_errors.DEFAULT_MAX_EVENT_SIZE):
        self.last_event_id = self.id_buffer = _errors.seed_id(last_event_id)
        self.limit = _errors.max_event_size(max_event_size)
        self.retry = None
        self.restart()

    def __reduce__(self):
        # A parser in mid-stream is not a value to copy.
        raise _errors.not_picklable(self)

    def __dealloc__(self):
        PyMem_Free(self.line)
        PyMem_Free(self.data)

    cdef void restart(self) noexcept:
        self.head_len = 0
        self.pending_cr = False
        self.failed = False
        self.line_len = 0
        self.data_len = self.data_lines = 0
        self.event_type = _EMPTY
        self.id_buffer = self.last_event_id
        self.release_buffers()

    cdef void release_buffers(self) noexcept:
        """Give back a buffer that one long line or event grew, once it is empty."""
        if self.line_len == 0 and self.line_cap > _KEEP_CAPACITY:
            PyMem_Free(self.line)
            self.line = NULL
            self.line_cap = 0
        if self.data_len == 0 and self.data_cap > _KEEP_CAPACITY:
            PyMem_Free(self.data)
            self.data = NULL
            self.data_cap = 0

    cdef int enter(self) except -1:
        # Free-threaded builds: feed() from two threads at once must not share the
        # buffers. The flag is tested and set atomically; the second caller raises.
        # With the GIL, only code that runs during feed() (a garbage collection's
        # finalizer or callback) can call it again; that is refused the same way.
        with cython.critical_section(self):
            if self.busy:
                raise _errors.decoder_busy()
            self.busy = True
        return 0

    cdef void leave(self) noexcept:
        with cython.critical_section(self):
            self.busy = False

    def feed(self, chunk):
        """Parse the next bytes of the stream; return the events they complete."""
        cdef list out = []
        cdef const char* p
        cdef Py_ssize_t n, take
        if not PyBytes_Check(chunk):
            chunk = bytes(memoryview(chunk))
        self.enter()
        try:
            if self.failed:
                raise _errors.decoder_failed()
            p = PyBytes_AS_STRING(chunk)
            n = PyBytes_GET_SIZE(chunk)
            if self.head_len >= 0:
                # §9.2.6 (UTF-8 decode): one BOM is stripped, only at stream start,
                # even when it arrives split across chunks.
                take = min(3 - self.head_len, n)
                memcpy(self.head + self.head_len, p, take)
                self.head_len += take
                p += take
                n -= take
                if memcmp(self.head, b"\xef\xbb\xbf", self.head_len) == 0:
                    if self.head_len < 3:
                        return out
                    self.head_len = -1
                else:
                    take = self.head_len
                    self.head_len = -1
                    self.scan(self.head, take, out)
            self.scan(p, n, out)
            return out
        except _errors.EventTooLarge:
            # The rest of the overlong line would be read as a line of its own (a
            # forged "id:" field, say): the stream is over until close().
            self.restart()
            self.failed = True
            raise
        finally:
            self.leave()

    def close(self):
        """End of stream: the incomplete event and line are dropped (§9.2.6), so no
        event is returned. ``last_event_id`` and ``retry`` are kept; the decoder
        starts a new stream (with its own BOM) if fed again."""
        self.enter()
        self.restart()
        self.leave()
        return []

    cdef int scan(self, const char* p, Py_ssize_t n, list out) except -1:
        cdef const char* end = p + n
        cdef const char* lf
        cdef const char* cr
        cdef const char* hit
        if n == 0:
            return 0
        if self.pending_cr:
            # §9.2.6: CR LF is one line end, even when a chunk boundary splits it.
            self.pending_cr = False
            if p[0] == 10:
                p += 1
        # The nearest LF and CR are remembered so that each byte is searched once.
        lf = <const char*>memchr(p, 10, end - p)
        if lf == NULL:
            lf = end
        cr = <const char*>memchr(p, 13, end - p)
        if cr == NULL:
            cr = end
        while True:
            hit = lf if lf < cr else cr
            if hit == end:
                break
            if self.line_len:
                self.extend_line(p, hit - p)
                self.interpret(self.line, self.line_len, out)
                self.line_len = 0
                self.release_buffers()
            else:
                if hit - p > self.limit:
                    raise _errors.line_too_long(self.limit)
                self.interpret(p, hit - p, out)
            p = hit + 1
            if hit == cr:
                # A CR that ends the chunk ends its line now: waiting for the next chunk
                # to see whether an LF follows would delay the event (§9.2.6 line ends).
                if p == end:
                    self.pending_cr = True
                elif p[0] == 10:
                    p += 1
                cr = <const char*>memchr(p, 13, end - p)
                if cr == NULL:
                    cr = end
            if lf < p:
                lf = <const char*>memchr(p, 10, end - p)
                if lf == NULL:
                    lf = end
        if p < end:
            self.extend_line(p, end - p)
        return 0

    cdef int extend_line(self, const char* p, Py_ssize_t n) except -1:
        if self.line_len + n > self.limit:
            raise _errors.line_too_long(self.limit)
        if self.line_len + n > self.line_cap:
            grow(&self.line, &self.line_cap, self.line_len + n)
        memcpy(self.line + self.line_len, p, n)
        self.line_len += n
        return 0

    cdef int interpret(self, const char* p, Py_ssize_t n, list out) except -1:
        cdef const char* colon
        cdef const char* value
        cdef Py_ssize_t name_len, value_len
        if n == 0:
            return self.dispatch(out)
        if p[0] == 58:  # ":" starts a comment
            return 0
        if n >= 5 and memcmp(p, b"data:", 5) == 0:
            value = p + 5
            if value < p + n and value[0] == 32:
                value += 1
            return self.append_data(value, p + n - value)
        colon = <const char*>memchr(p, 58, n)
        if colon == NULL:
            name_len = n
            value = p + n
        else:
            name_len = colon - p
            value = colon + 1
            if value < p + n and value[0] == 32:
                value += 1
        value_len = p + n - value
        if name_len == 4 and memcmp(p, b"data", 4) == 0:
            self.append_data(value, value_len)
        elif name_len == 5 and memcmp(p, b"event", 5) == 0:
            self.event_type = decoded(value, value_len)
        elif name_len == 2 and memcmp(p, b"id", 2) == 0:
            # §9.2.6: an id value holding NUL is ignored, and the buffer keeps its value.
            if memchr(value, 0, value_len) == NULL:
                self.id_buffer = decoded(value, value_len)
        elif name_len == 5 and memcmp(p, b"retry", 5) == 0:
            self.set_retry(value, value_len)
        return 0

    cdef int append_data(self, const char* value, Py_ssize_t n) except -1:
        if self.data_len + n + 1 > self.limit:
            raise _errors.data_too_large(self.limit)
        if self.data_len + n + 1 > self.data_cap:
            grow(&self.data, &self.data_cap, self.data_len + n + 1)
        memcpy(self.data + self.data_len, value, n)
        self.data_len += n + 1
        self.data[self.data_len - 1] = 10
        self.data_lines += 1
        return 0

    cdef int set_retry(self, const char* p, Py_ssize_t n) except -1:
        """§9.2.6: a value of ASCII digits only sets the reconnection time at once (no
        blank line needed); anything else is ignored. Capped at 2**63 - 1."""
        cdef unsigned long long v = 0
        cdef Py_ssize_t i
        cdef int digit
        if n == 0:
            return 0
        for i in range(n):
            if p[i] < 48 or p[i] > 57:
                return 0
        for i in range(n):
            digit = p[i] - 48
            if v > (_MAX_RETRY - digit) // 10:
                v = _MAX_RETRY
                break
            v = v * 10 + digit
        self.retry = v
        return 0

    cdef int dispatch(self, list out) except -1:
        # §9.2.6, dispatch: the last event ID is committed first, even when nothing fires.
        self.last_event_id = self.id_buffer
        if self.data_len:
            out.append(decoded_event(
                decoded(self.data, self.data_len - 1),
                self.data_lines - 1,
                self.event_type if self.event_type else _MESSAGE,
                self.last_event_id,
            ))
            self.data_len = self.data_lines = 0
            self.release_buffers()
        self.event_type = _EMPTY  # §9.2.6: reset at every blank line, even with no event
        return 0
