# cython: language_level=3
"""Compiled twin of the framing core; ``_framing_py.py`` is the reference.

Every event is framed in two passes over its fields: one measures the exact output
size, the other writes into a single ``bytes`` of that size. ASCII ``str`` and
``bytes`` values are scanned with ``memchr``; other ``str`` values are read code
point by code point and written as UTF-8 directly, so no intermediate encoded copy
is made. Bad input is detected here and reported through ``_errors`` so that both
twins raise the same exception with the same message.

Where each step of ``_framing_py.py`` lives here (the pure twin builds text, this one
measures then writes):

    _framing_py.py                   _framing_c.pyx
    _check_sep                       sep_length
    _data_text                       text_of_data (bytes: is_utf8)
    _event_text, _id_text,           text_of_str with the rule SINGLE_LINE, IDENTIFIER,
      _comment_text                    MULTILINE (all reached through prepare)
    _check_unicode                   scan_ucs (a lone surrogate makes it return False)
    _errors.retry_to_int             retry_ms (exact ints; the rest goes to retry_to_int)
    _lines                           lines_size, then write_lines
    _frame                           frame_size, then write_frame (frame_bytes: both)
    ServerSentEvent._text            ServerSentEvent.frame (measured once, in __init__)
    encode_many's loop               item_frame, and ascii_data for plain ASCII str items
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE
from cpython.long cimport PyLong_AsLongLong, PyLong_CheckExact
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memchr, memcpy

from sse_fast import _errors, _pickling

cdef extern from *:
    # Defined by Cython's own prologue: 1 when built for a free-threaded CPython.
    bint CYTHON_COMPILING_IN_CPYTHON_FREETHREADING

cdef extern from "Python.h":
    bint PyUnicode_Check(object)
    bint PyUnicode_CheckExact(object)
    bint PyBytes_Check(object)
    bint PyUnicode_IS_ASCII(object)
    int PyUnicode_KIND(object)
    void* PyUnicode_DATA(object)
    Py_ssize_t PyUnicode_GET_LENGTH(object)
    object PyBytes_FromStringAndSize(const char* v, Py_ssize_t n)
    object PyUnicode_FromObject(object)
    bint PyObject_GC_IsTracked(object)
    void PyObject_GC_Track(object)


ctypedef fused ucs:
    uint8_t
    uint16_t
    uint32_t


cdef object _SEP_LF = "\n"


cdef inline object exact_text(object value):
    """A str subclass's value as an exact str (what is kept and framed), else ``value``:
    a subclass's methods take no part, and its value cannot change under the frame."""
    if PyUnicode_Check(value) and not PyUnicode_CheckExact(value):
        return PyUnicode_FromObject(value)
    return value


# ---------------------------------------------------------------- scanning


cdef inline Py_ssize_t count_byte(const char* p, Py_ssize_t n, int byte) noexcept nogil:
    cdef const char* end = p + n
    cdef const char* hit
    cdef Py_ssize_t count = 0
    while p < end:
        hit = <const char*>memchr(p, byte, end - p)
        if hit == NULL:
            break
        count += 1
        p = hit + 1
    return count


cdef inline void count_line_ends(Text* t) noexcept nogil:
    """Count CR/LF bytes and line ends in a kind-0 value."""
    cdef const char* p = t.ptr
    cdef const char* end = p + t.n
    cdef const char* cr
    cdef Py_ssize_t n_cr = 0, n_crlf = 0
    cdef Py_ssize_t n_lf = count_byte(p, t.n, 10)
    while p < end:
        cr = <const char*>memchr(p, 13, end - p)
        if cr == NULL:
            break
        n_cr += 1
        if cr + 1 < end and cr[1] == 10:
            n_crlf += 1
        p = cr + 1
    t.eol = n_cr + n_lf
    t.breaks = n_cr + n_lf - n_crlf


cdef bint scan_ucs(const ucs* p, Py_ssize_t n, Text* t, bint* has_nul) noexcept nogil:
    """Measure a non-ASCII str; False if it holds a lone surrogate."""
    cdef Py_ssize_t i, size = 0, eol = 0, breaks = 0
    cdef uint32_t c
    cdef bint valid = True
    for i in range(n):
        c = p[i]
        if c < 0x80:
            size += 1
            if c == 10:
                eol += 1
                if i == 0 or p[i - 1] != 13:
                    breaks += 1
            elif c == 13:
                eol += 1
                breaks += 1
            elif c == 0:
                has_nul[0] = True
        elif c < 0x800:
            size += 2
        elif c < 0x10000:
            size += 3
            if 0xD800 <= c <= 0xDFFF:
                valid = False
        else:
            size += 4
    t.size = size
    t.eol = eol
    t.breaks = breaks
    return valid


cdef bint is_utf8(const uint8_t* s, Py_ssize_t n) noexcept nogil:
    """Strict UTF-8 (RFC 3629): no overlongs, no surrogates, nothing past U+10FFFF."""
    cdef Py_ssize_t i = 0
    cdef uint64_t word
    cdef uint8_t c, c1
    while i < n:
        if i + 8 <= n:
            memcpy(&word, s + i, 8)
            if word & 0x8080808080808080ULL == 0:
                i += 8
                continue
        c = s[i]
        if c < 0x80:
            i += 1
            continue
        if c < 0xC2 or c > 0xF4:
            return False
        if c < 0xE0:
            if i + 1 >= n or s[i + 1] & 0xC0 != 0x80:
                return False
            i += 2
            continue
        if i + 1 >= n:
            return False
        c1 = s[i + 1]
        if c1 & 0xC0 != 0x80:
            return False
        if c < 0xF0:
            if (c == 0xE0 and c1 < 0xA0) or (c == 0xED and c1 > 0x9F):
                return False
            if i + 2 >= n or s[i + 2] & 0xC0 != 0x80:
                return False
            i += 3
            continue
        if (c == 0xF0 and c1 < 0x90) or (c == 0xF4 and c1 > 0x8F):
            return False
        if i + 3 >= n or s[i + 2] & 0xC0 != 0x80 or s[i + 3] & 0xC0 != 0x80:
            return False
        i += 4
    return True


# ---------------------------------------------------------------- validation


cdef int text_of_str(Text* t, str value, Rule rule, str field) except -1:
    cdef bint has_nul = False
    cdef bint valid = True
    t.n = PyUnicode_GET_LENGTH(value)
    t.ptr = <const char*>PyUnicode_DATA(value)
    if PyUnicode_IS_ASCII(value):
        t.kind = 0
        t.size = t.n
        if rule == MULTILINE:
            count_line_ends(t)
            return 0
        t.eol = t.breaks = 0
        if memchr(t.ptr, 10, t.n) != NULL or memchr(t.ptr, 13, t.n) != NULL:
            if rule == IDENTIFIER:
                raise _errors.id_break(value)
            raise _errors.line_break(field, value)
        if rule == IDENTIFIER and memchr(t.ptr, 0, t.n) != NULL:
            raise _errors.id_break(value)
        return 0
    t.kind = PyUnicode_KIND(value)
    if t.kind == 1:
        valid = scan_ucs(<const uint8_t*>t.ptr, t.n, t, &has_nul)
    elif t.kind == 2:
        valid = scan_ucs(<const uint16_t*>t.ptr, t.n, t, &has_nul)
    else:
        valid = scan_ucs(<const uint32_t*>t.ptr, t.n, t, &has_nul)
    if rule == IDENTIFIER and (t.eol or has_nul):
        raise _errors.id_break(value)
    if rule == SINGLE_LINE and t.eol:
        raise _errors.line_break(field, value)
    if not valid:
        raise _errors.unencodable(field, value)
    return 0


cdef int text_of_data(Text* t, object data) except -1:
    if PyUnicode_Check(data):
        return text_of_str(t, <str>data, MULTILINE, "data")
    if not PyBytes_Check(data):
        raise _errors.wrong_type("data", "str or bytes", data)
    t.kind = 0
    t.ptr = PyBytes_AS_STRING(data)
    t.n = t.size = PyBytes_GET_SIZE(data)
    if not is_utf8(<const uint8_t*>t.ptr, t.n):
        raise _errors.undecodable("data", bytes(data))
    count_line_ends(t)
    return 0


cdef inline long long retry_ms(object retry) except -1:
    cdef long long ms
    if PyLong_CheckExact(retry):
        ms = PyLong_AsLongLong(retry)  # raises OverflowError past 2**63 - 1
        if ms >= 0:
            return ms
    return _errors.retry_to_int(retry)


cdef int prepare(
    Frame* f, object data, object event, object id, object retry, object comment
) except -1:
    """Validate the fields (in the pure twin's order) and measure them."""
    f.has_data = data is not None
    if f.has_data:
        text_of_data(&f.data, data)
    f.has_event = event is not None
    if f.has_event:
        if not PyUnicode_Check(event):
            raise _errors.wrong_type("event", "str", event)
        text_of_str(&f.event, <str>event, SINGLE_LINE, "event")
    f.has_id = id is not None
    if f.has_id:
        if not PyUnicode_Check(id):
            raise _errors.wrong_type("id", "str", id)
        text_of_str(&f.id, <str>id, IDENTIFIER, "id")
    f.has_retry = retry is not None
    if f.has_retry:
        try:
            f.retry = retry_ms(retry)
        except OverflowError:
            f.retry = _errors.retry_to_int(retry)  # raises the documented ValueError
    f.has_comment = comment is not None
    if f.has_comment:
        if not PyUnicode_Check(comment):
            raise _errors.wrong_type("comment", "str", comment)
        text_of_str(&f.comment, <str>comment, MULTILINE, "comment")
    return 0


cdef inline Py_ssize_t sep_length(object sep) except -1:
    """1 or 2 for a valid separator (its bytes are read from the str itself)."""
    cdef const char* s
    cdef Py_ssize_t n
    if sep is _SEP_LF:
        return 1
    if PyUnicode_Check(sep) and PyUnicode_IS_ASCII(sep):
        s = <const char*>PyUnicode_DATA(sep)
        n = PyUnicode_GET_LENGTH(sep)
        if n == 1 and (s[0] == 10 or s[0] == 13):
            return 1
        if n == 2 and s[0] == 13 and s[1] == 10:
            return 2
    raise _errors.bad_sep(sep)


# ---------------------------------------------------------------- writing


cdef inline Py_ssize_t lines_size(
    const Text* t, Py_ssize_t prefix_len, Py_ssize_t sep_len
) noexcept nogil:
    return t.size - t.eol + (t.breaks + 1) * (prefix_len + sep_len)


cdef inline int digits(unsigned long long v) noexcept nogil:
    cdef int n = 1
    while v >= 10:
        v //= 10
        n += 1
    return n


cdef Py_ssize_t frame_size(const Frame* f, Py_ssize_t sep_len) noexcept nogil:
    cdef Py_ssize_t size = sep_len
    if f.has_comment:
        size += lines_size(&f.comment, 2, sep_len)
    if f.has_id:
        size += lines_size(&f.id, 4, sep_len)
    if f.has_event:
        size += lines_size(&f.event, 7, sep_len)
    if f.has_data:
        size += lines_size(&f.data, 6, sep_len)
    if f.has_retry:
        size += 7 + digits(<unsigned long long>f.retry) + sep_len
    return size


cdef inline char* put(char* out, const char* src, Py_ssize_t n) noexcept nogil:
    memcpy(out, src, n)
    return out + n


cdef inline char* next_line(
    char* out, const char* prefix, Py_ssize_t prefix_len, const char* sep, Py_ssize_t sep_len
) noexcept nogil:
    return put(put(out, sep, sep_len), prefix, prefix_len)


cdef char* write_bytes_lines(
    char* out, const Text* t, const char* prefix, Py_ssize_t prefix_len,
    const char* sep, Py_ssize_t sep_len,
) noexcept nogil:
    cdef const char* p = t.ptr
    cdef const char* end = p + t.n
    cdef const char* lf
    cdef const char* cr
    cdef const char* hit
    out = put(out, prefix, prefix_len)
    if t.eol == 0:  # known to be one line (eol < 0: not counted, search below)
        return put(put(out, p, t.n), sep, sep_len)
    # The nearest LF and CR are remembered so that each byte is searched once.
    lf = <const char*>memchr(p, 10, t.n)
    if lf == NULL:
        lf = end
    cr = <const char*>memchr(p, 13, t.n)
    if cr == NULL:
        cr = end
    while True:
        hit = lf if lf < cr else cr
        out = put(out, p, hit - p)
        if hit == end:
            break
        out = next_line(out, prefix, prefix_len, sep, sep_len)
        p = hit + 1
        if hit == cr:
            if p < end and p[0] == 10:
                p += 1
            cr = <const char*>memchr(p, 13, end - p)
            if cr == NULL:
                cr = end
        if lf < p:
            lf = <const char*>memchr(p, 10, end - p)
            if lf == NULL:
                lf = end
    return put(out, sep, sep_len)


cdef char* write_ucs_lines(
    char* out, const ucs* p, Py_ssize_t n, const char* prefix, Py_ssize_t prefix_len,
    const char* sep, Py_ssize_t sep_len,
) noexcept nogil:
    cdef Py_ssize_t i = 0
    cdef uint32_t c
    out = put(out, prefix, prefix_len)
    while i < n:
        c = p[i]
        if c < 0x80:
            if c == 13 or c == 10:
                if c == 13 and i + 1 < n and p[i + 1] == 10:
                    i += 1
                out = next_line(out, prefix, prefix_len, sep, sep_len)
            else:
                out[0] = <char>c
                out += 1
        elif c < 0x800:
            out[0] = <char>(0xC0 | (c >> 6))
            out[1] = <char>(0x80 | (c & 0x3F))
            out += 2
        elif c < 0x10000:
            out[0] = <char>(0xE0 | (c >> 12))
            out[1] = <char>(0x80 | ((c >> 6) & 0x3F))
            out[2] = <char>(0x80 | (c & 0x3F))
            out += 3
        else:
            out[0] = <char>(0xF0 | (c >> 18))
            out[1] = <char>(0x80 | ((c >> 12) & 0x3F))
            out[2] = <char>(0x80 | ((c >> 6) & 0x3F))
            out[3] = <char>(0x80 | (c & 0x3F))
            out += 4
        i += 1
    return put(out, sep, sep_len)


cdef char* write_lines(
    char* out, const Text* t, const char* prefix, Py_ssize_t prefix_len,
    const char* sep, Py_ssize_t sep_len,
) noexcept nogil:
    if t.kind == 0:
        return write_bytes_lines(out, t, prefix, prefix_len, sep, sep_len)
    if t.kind == 1:
        return write_ucs_lines(out, <const uint8_t*>t.ptr, t.n, prefix, prefix_len, sep, sep_len)
    if t.kind == 2:
        return write_ucs_lines(out, <const uint16_t*>t.ptr, t.n, prefix, prefix_len, sep, sep_len)
    return write_ucs_lines(out, <const uint32_t*>t.ptr, t.n, prefix, prefix_len, sep, sep_len)


cdef char* write_frame(
    char* out, const Frame* f, const char* sep, Py_ssize_t sep_len
) noexcept nogil:
    cdef int i, n
    cdef unsigned long long v
    if f.has_comment:
        out = write_lines(out, &f.comment, ": ", 2, sep, sep_len)
    if f.has_id:
        out = write_lines(out, &f.id, "id: ", 4, sep, sep_len)
    if f.has_event:
        out = write_lines(out, &f.event, "event: ", 7, sep, sep_len)
    if f.has_data:
        out = write_lines(out, &f.data, "data: ", 6, sep, sep_len)
    if f.has_retry:
        out = put(out, "retry: ", 7)
        v = <unsigned long long>f.retry
        n = digits(v)
        for i in range(n - 1, -1, -1):
            out[i] = <char>(48 + v % 10)
            v //= 10
        out = put(out + n, sep, sep_len)
    return put(out, sep, sep_len)


cdef bytes frame_bytes(const Frame* f, object sep):
    cdef Py_ssize_t sep_len = sep_length(sep)
    cdef const char* sep_ptr = <const char*>PyUnicode_DATA(sep)
    cdef Py_ssize_t size = frame_size(f, sep_len)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, size)
    write_frame(PyBytes_AS_STRING(out), f, sep_ptr, sep_len)
    return out


# ---------------------------------------------------------------- public API


cdef class ServerSentEvent:
    """One server-sent event: an immutable value, validated when it is created.

    ``data`` is ``str`` (encoded as UTF-8) or ``bytes`` (which must be valid UTF-8);
    it may span several lines (CRLF, CR or LF), each sent as its own ``data:`` line.
    ``None`` sends no data line, so browsers will not fire the event; ``""`` sends
    one empty ``data:`` line. ``event`` must not contain CR or LF, ``id`` must not
    contain CR, LF or NUL. ``retry`` is the reconnection time: a non-negative
    ``int`` of milliseconds or a ``datetime.timedelta`` (stored as whole
    milliseconds). ``comment`` becomes one ``:`` line per line of text.

    Bad input raises ``TypeError`` or ``ValueError`` (``UnicodeError`` for a lone
    surrogate or invalid UTF-8) naming the field.
    """

    def __init__(self, data=None, *, event=None, id=None, retry=None, comment=None):
        cdef Frame f
        if CYTHON_COMPILING_IN_CPYTHON_FREETHREADING and self.initialized:
            # Without a GIL another thread may be encoding this event: replacing the
            # objects its frame points into could free them under that thread.
            raise TypeError("ServerSentEvent is immutable: __init__ cannot run twice")
        data = exact_text(data)
        event = exact_text(event)
        id = exact_text(id)
        comment = exact_text(comment)
        # Measured into a local frame first: if validation fails half-way, the event
        # keeps its old frame and the objects that frame points into.
        prepare(&f, data, event, id, retry, comment)
        if not PyObject_GC_IsTracked(self):
            # A decoded event starts untracked (its fields are exact str); new fields
            # may be objects that refer back to it, a cycle only the GC can free.
            PyObject_GC_Track(self)
        self.data = data
        self.event = event
        self.id = id
        self.retry = f.retry if f.has_retry else None
        self.comment = comment
        self.frame = f
        self.initialized = True

    def encode(self, sep="\n"):
        """The event on the wire: its field lines, then a blank line, ended by ``sep``."""
        return frame_bytes(&self.frame, sep)

    def __eq__(self, other):
        if not isinstance(other, ServerSentEvent):
            return NotImplemented
        return self.values() == (<ServerSentEvent>other).values()

    def __hash__(self):
        return hash(self.values())

    cdef tuple values(self):
        # The fields as stored, which a subclass's properties cannot shadow.
        return (self.data, self.event, self.id, self.retry, self.comment)

    def _fields(self):
        return self.values()

    def __repr__(self):
        shown = [] if self.data is None else [repr(self.data)]
        for name, value in zip(("event", "id", "retry", "comment"), self.values()[1:]):
            if value is not None:
                shown.append(f"{name}={value!r}")
        return f"ServerSentEvent({', '.join(shown)})"

    def __reduce__(self):
        if type(self) is ServerSentEvent:
            return (_restore, self.values())
        return (
            _pickling.restore,
            (type(self), ServerSentEvent, self.values()),
            _pickling.extra_state(self, ServerSentEvent),
        )

    def __setstate__(self, state):
        for name, value in state.items():
            object.__setattr__(self, name, value)


def _restore(data, event, id, retry, comment):
    return ServerSentEvent(data, event=event, id=id, retry=retry, comment=comment)


def encode(data=None, *, event=None, id=None, retry=None, comment=None, sep="\n"):
    """Validate and frame one event; the same bytes as ``ServerSentEvent(...).encode(sep)``."""
    cdef Frame f
    data = exact_text(data)
    event = exact_text(event)
    id = exact_text(id)
    comment = exact_text(comment)
    prepare(&f, data, event, id, retry, comment)
    return frame_bytes(&f, sep)


cdef const Frame* item_frame(Frame* scratch, object item, Py_ssize_t index) except NULL:
    """The measured frame of an item: an event's own, or one made in ``scratch``."""
    # Exact str first: an isinstance() test against ServerSentEvent walks str's MRO.
    if not PyUnicode_CheckExact(item) and isinstance(item, ServerSentEvent):
        return &(<ServerSentEvent>item).frame
    if not PyUnicode_Check(item):
        raise _errors.wrong_item(index, item)
    scratch.has_event = scratch.has_id = scratch.has_retry = scratch.has_comment = False
    scratch.has_data = True
    text_of_str(&scratch.data, <str>item, MULTILINE, "data")
    return scratch


cdef inline void ascii_data(Text* t, str item) noexcept:
    t.kind = 0
    t.ptr = <const char*>PyUnicode_DATA(item)
    t.n = t.size = PyUnicode_GET_LENGTH(item)


def encode_many(events, sep="\n"):
    """Frame many events into one buffer; a ``str`` item is an event with only data.

    Nothing is returned unless every item is valid, so a bad item never leaves a
    half-written batch behind.
    """
    cdef Frame f
    cdef Text t
    cdef Py_ssize_t sep_len = sep_length(sep)
    cdef const char* sep_ptr = <const char*>PyUnicode_DATA(sep)
    cdef Py_ssize_t i, count, size = 0
    # Both passes read the list's items as borrowed references, and the second pass
    # writes exactly what the first measured. With the GIL nothing can change the list
    # in between; without it (free-threaded CPython) another thread could, so there the
    # passes read a private copy (list() copies a list under that list's lock).
    cdef list items
    if type(events) is list and not CYTHON_COMPILING_IN_CPYTHON_FREETHREADING:
        items = events
    else:
        items = list(events)
    cdef object item
    cdef bytes out
    cdef char* p
    count = PyList_GET_SIZE(items)
    for i in range(count):
        item = <object>PyList_GET_ITEM(items, i)
        # Plain ASCII str items (token streams) skip the general Frame path.
        if PyUnicode_CheckExact(item) and PyUnicode_IS_ASCII(item):
            ascii_data(&t, <str>item)
            count_line_ends(&t)
            size += lines_size(&t, 6, sep_len) + sep_len
            continue
        if PyUnicode_Check(item):
            # A str subclass is framed by its exact value, kept in a private list so
            # that the second pass writes from the object the first one measured.
            if items is events:
                items = list(events)
            item = exact_text(item)
            items[i] = item
        size += frame_size(item_frame(&f, item, i), sep_len)
    out = PyBytes_FromStringAndSize(NULL, size)
    p = PyBytes_AS_STRING(out)
    for i in range(count):
        item = <object>PyList_GET_ITEM(items, i)
        if PyUnicode_CheckExact(item) and PyUnicode_IS_ASCII(item):
            ascii_data(&t, <str>item)
            t.eol = -1
            p = put(write_bytes_lines(p, &t, "data: ", 6, sep_ptr, sep_len), sep_ptr, sep_len)
        else:
            p = write_frame(p, item_frame(&f, item, i), sep_ptr, sep_len)
    return out
