# Declarations the compiled decoder (_decoder_c.pyx) shares with the framing twin: the
# event type, whose measured frame the decoder fills in C, and the measuring helper.

cdef enum Rule:
    MULTILINE = 0    # data, comment: CR/LF split the value into lines
    SINGLE_LINE = 1  # event: CR/LF rejected
    IDENTIFIER = 2   # id: CR/LF/NUL rejected


cdef struct Text:
    const char* ptr      # UTF-8 bytes when kind == 0, else the str's code points
    Py_ssize_t n         # length in bytes (kind 0) or code points
    int kind             # 0, or 1/2/4 for a non-ASCII str of that width
    Py_ssize_t size      # length once encoded as UTF-8
    Py_ssize_t eol       # CR and LF characters
    Py_ssize_t breaks    # line ends (a CRLF pair is one)


cdef struct Frame:
    bint has_data, has_event, has_id, has_comment, has_retry
    Text data, event, id, comment
    long long retry


cdef class ServerSentEvent:
    cdef readonly object data
    cdef readonly object event
    cdef readonly object id
    cdef readonly object retry
    cdef readonly object comment
    # Validation measures every field; the measurements are kept, so encode() only
    # writes. Their pointers stay valid: the event holds the objects they point into.
    cdef Frame frame
    cdef bint initialized

    cdef tuple values(self)


cdef int text_of_str(Text* t, str value, Rule rule, str field) except -1
