/*
 * producer.read.framing._jsonscan: validate JSON values in a byte buffer and find where they end,
 * without building Python objects. Used by producer/read/framing/json_scanner.py to cut a big array or
 * object of records into the raw bytes of
 * each record, and to splice the source field into a record's own text (see that module for the
 * contract). The pure-Python fallback (ijson) is used when this module cannot be imported.
 *
 * Grammar: RFC 8259 exactly. Strings: no raw control characters, only the escapes \" \\ \/ \b \f \n \r
 * \t \uXXXX, strict UTF-8 (no overlong forms, no encoded surrogates, nothing above U+10FFFF). Numbers:
 * -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?. Literals true, false, null. Nesting: a container opened
 * at depth > max_depth is an error (the caller's container is depth `depth`, so a record directly inside
 * the top-level array is opened at depth + 1).
 *
 * Status codes (STATUS_*, ERR_* in _jsonscan_tokens.h): a scan that reaches the end of the buffer before the value is
 * complete returns INCOMPLETE (more bytes may complete it); every error is definite, i.e. no bytes
 * appended later can make the value valid, and carries the offset of the offending byte.
 */
#include "_jsonscan_tokens.h"
#include "_jsonscan_value.h"

static int parse_depths(int depth, int max_depth) {
    if (max_depth < 0 || max_depth > (1 << 20) || depth < 0 || depth > max_depth) {
        PyErr_SetString(PyExc_ValueError, "need 0 <= depth <= max_depth <= 2**20");
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(scan_value_doc,
             "scan_value(buffer, pos, final, depth, max_depth) -> (status, offset, flags)\n\n"
             "Validate the JSON value starting at buffer[pos] (no leading whitespace), inside containers\n"
             "nested `depth` deep. status OK: offset is the end of the value; INCOMPLETE: the buffer ends\n"
             "inside it (offset = pos); an error: offset is the offending byte. `final` says the buffer\n"
             "holds the rest of the input (a number may then end at its end). flags: FLAG_* of the value.");

static PyObject *py_scan_value(PyObject *self, PyObject *args) {
    Py_buffer view;
    Py_ssize_t pos;
    int final, depth, max_depth, flags = 0;
    if (!PyArg_ParseTuple(args, "y*npii", &view, &pos, &final, &depth, &max_depth)) {
        return NULL;
    }
    if (parse_depths(depth, max_depth) < 0 || pos < 0 || pos >= view.len) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "pos is outside the buffer");
        }
        PyBuffer_Release(&view);
        return NULL;
    }
    Scan s;
    scan_init(&s, view.buf, view.len, final, max_depth);
    Py_ssize_t end = pos;
    int st = scan_value(&s, &end, depth, NULL, 0, &flags);
    scan_free(&s);
    PyBuffer_Release(&view);
    if (st < 0) {
        return NULL;
    }
    return Py_BuildValue("nni", (Py_ssize_t)st, st == STATUS_OK ? end : st == STATUS_INCOMPLETE ? pos : s.err_pos,
                         flags);
}

/* Records with any of these flags are not spliced: the caller parses them (their own source field,
 * keys that may repeat, a number that may be outside the range of a double, a lone surrogate). Integers
 * beyond 64 bits are spliced: kept exactly as written. */
#define SPLICE_REFUSED (FLAG_HAS_FIELD | FLAG_UNSURE | FLAG_BIG_EXP | FLAG_SURROGATE)

/* The message value: '{' + member + (',' + the record's text after its '{' | '}' when empty). */
static PyObject *splice(const unsigned char *b, Py_ssize_t start, Py_ssize_t end, int flags,
                        const char *member, Py_ssize_t member_len) {
    int empty = (flags & FLAG_EMPTY) != 0;
    Py_ssize_t rest = empty ? 1 : end - start; /* "}" or ",<text after '{'>" (same length as the text) */
    PyObject *out = PyBytes_FromStringAndSize(NULL, 1 + member_len + rest);
    if (out == NULL) {
        return NULL;
    }
    char *o = PyBytes_AS_STRING(out);
    o[0] = '{';
    memcpy(o + 1, member, (size_t)member_len);
    if (empty) {
        o[1 + member_len] = '}';
    } else {
        o[1 + member_len] = ',';
        memcpy(o + 2 + member_len, b + start + 1, (size_t)(end - start - 1));
    }
    return out;
}

static PyObject *item_key(const unsigned char *b, Py_ssize_t start, Py_ssize_t end, int escaped) {
    if (escaped) {
        return PyBytes_FromStringAndSize((const char *)b + start, end - start);
    }
    return PyUnicode_DecodeUTF8((const char *)b + start + 1, end - start - 2, "strict");
}

PyDoc_STRVAR(
    scan_items_doc,
    "scan_items(buffer, pos, is_object, first, final, max_depth, field, member)\n"
    "    -> (items, pos, first, status, error_offset)\n\n"
    "Step through the elements of the top-level array (or object, `is_object`) whose opening bracket\n"
    "was before `pos`, collecting every element that is complete in the buffer. `first`: no element\n"
    "was read yet (so no comma is expected). Each item is (key, value, start, end, flags): key is the\n"
    "object key as str, the raw key text (bytes, with quotes) when it has escapes, or None for arrays;\n"
    "buffer[start:end] is the element's value; flags are FLAG_*, `field` (bytes) being the key that\n"
    "sets FLAG_HAS_FIELD; value is the spliced message value (see splice in the C source) when the\n"
    "element is an object without any of SPLICE_REFUSED and `member` is not None, else None. Returns with status DONE (pos after the closing bracket), INCOMPLETE (pos\n"
    "where to resume once more bytes are appended, `first` updated) or an error at error_offset; the\n"
    "items before an error are returned with it.");

static PyObject *py_scan_items(PyObject *self, PyObject *args) {
    Py_buffer view;
    Py_ssize_t pos, field_len = 0, member_len = 0;
    int is_object, first, final, max_depth;
    const char *field = NULL, *member = NULL;
    if (!PyArg_ParseTuple(args, "y*nppiiz#z#", &view, &pos, &is_object, &first, &final, &max_depth, &field,
                          &field_len, &member, &member_len)) {
        return NULL;
    }
    if (parse_depths(1, max_depth) < 0 || pos < 0 || pos > view.len) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_ValueError, "pos is outside the buffer");
        }
        PyBuffer_Release(&view);
        return NULL;
    }
    const unsigned char *b = view.buf;
    Py_ssize_t len = view.len;
    unsigned char close = is_object ? '}' : ']';
    PyObject *items = PyList_New(0);
    if (items == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    Scan s;
    scan_init(&s, b, len, final, max_depth);
    int st = STATUS_INCOMPLETE;
    for (;;) {
        Py_ssize_t p = skip_ws(b, pos, len), key_start = 0, key_end = 0;
        int key_escaped = 0, flags = 0;
        if (p >= len) {
            st = STATUS_INCOMPLETE;
            break;
        }
        if (b[p] == close && first) {
            pos = p + 1;
            st = STATUS_DONE;
            break;
        }
        if (!first) {
            if (b[p] == close) {
                pos = p + 1;
                st = STATUS_DONE;
                break;
            }
            if (b[p] != ',') {
                st = unexpected(&s, p);
                break;
            }
            p = skip_ws(b, p + 1, len);
            if (p >= len) {
                st = STATUS_INCOMPLETE;
                break;
            }
        }
        if (is_object) {
            if (b[p] != '"') {
                st = unexpected(&s, p);
                break;
            }
            key_start = p;
            if ((st = scan_string(&s, &p, &key_escaped)) != STATUS_OK) {
                break;
            }
            key_end = p;
            p = skip_ws(b, p, len);
            if (p >= len) {
                st = STATUS_INCOMPLETE;
                break;
            }
            if (b[p] != ':') {
                st = unexpected(&s, p);
                break;
            }
            p = skip_ws(b, p + 1, len);
        }
        Py_ssize_t start = p;
        if ((st = scan_value(&s, &p, 1, field, field_len, &flags)) != STATUS_OK) {
            break;
        }
        PyObject *key = is_object ? item_key(b, key_start, key_end, key_escaped) : Py_NewRef(Py_None);
        PyObject *value = NULL;
        if (key != NULL && member != NULL && (flags & FLAG_OBJECT) && !(flags & SPLICE_REFUSED)) {
            value = splice(b, start, p, flags, member, member_len);
        } else if (key != NULL) {
            value = Py_NewRef(Py_None);
        }
        PyObject *item = value == NULL ? NULL : Py_BuildValue("(NNnni)", key, value, start, p, flags);
        if (item == NULL) {
            if (value == NULL) {
                Py_XDECREF(key);
            }
            st = -1;
            break;
        }
        int appended = PyList_Append(items, item);
        Py_DECREF(item);
        if (appended < 0) {
            st = -1;
            break;
        }
        pos = p;
        first = 0;
    }
    scan_free(&s);
    PyBuffer_Release(&view);
    if (st < 0) {
        Py_DECREF(items);
        return NULL;
    }
    return Py_BuildValue("(NnOin)", items, pos, first ? Py_True : Py_False, st,
                         st >= ERR_TOKEN ? s.err_pos : (Py_ssize_t)-1);
}

PyDoc_STRVAR(scan_line_doc,
             "scan_line(max_depth, field, member, line) -> bytes | int\n\n"
             "One JSON Lines line. When it holds one JSON value, alone but for whitespace: the spliced\n"
             "message value (see splice) if the value is an object whose flags allow splicing (see\n"
             "SPLICE_REFUSED) and `member` is not None, else the value's flags (FLAG_*, >= 0). -1 when\n"
             "the line is blank or not one valid JSON value (the caller parses it for the error).");

static PyObject *py_scan_line(PyObject *self, PyObject *args) {
    Py_buffer view;
    int max_depth, flags = 0;
    const char *field = NULL, *member = NULL;
    Py_ssize_t field_len = 0, member_len = 0;
    /* the line comes last so that functools.partial can bind the rest */
    if (!PyArg_ParseTuple(args, "iz#z#y*", &max_depth, &field, &field_len, &member, &member_len, &view)) {
        return NULL;
    }
    if (parse_depths(0, max_depth) < 0) {
        PyBuffer_Release(&view);
        return NULL;
    }
    const unsigned char *b = view.buf;
    Py_ssize_t len = view.len, start = skip_ws(b, 0, len), end = start;
    if (start >= len) {
        PyBuffer_Release(&view);
        return PyLong_FromLong(-1);
    }
    Scan s;
    scan_init(&s, b, len, 1, max_depth);
    int st = scan_value(&s, &end, 0, field, field_len, &flags);
    scan_free(&s);
    PyObject *out;
    if (st < 0) {
        out = NULL;
    } else if (st != STATUS_OK || skip_ws(b, end, len) != len) {
        out = PyLong_FromLong(-1);
    } else if (member != NULL && (flags & FLAG_OBJECT) && !(flags & SPLICE_REFUSED)) {
        out = splice(b, start, end, flags, member, member_len);
    } else {
        out = PyLong_FromLong(flags);
    }
    PyBuffer_Release(&view);
    return out;
}

PyDoc_STRVAR(has_long_number_doc,
             "has_long_number(buffer) -> bool\n\n"
             "Whether buffer holds a run of 19 or more ASCII digits anywhere (inside strings too): where\n"
             "it does not, no integer in it is beyond 64 bits, so a parser that rounds those reads it\n"
             "exactly. A cheap look at text that is parsed anyway (no validation).");

static PyObject *py_has_long_number(PyObject *self, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    const unsigned char *b = view.buf;
    Py_ssize_t len = view.len, run = 0;
    int found = 0;
    for (Py_ssize_t i = 0; i < len; i++) {
        if ((unsigned)(b[i] - '0') < 10u) {
            if (++run >= 19) {
                found = 1;
                break;
            }
        } else {
            run = 0;
        }
    }
    PyBuffer_Release(&view);
    return PyBool_FromLong(found);
}

static PyMethodDef methods[] = {
    {"scan_value", py_scan_value, METH_VARARGS, scan_value_doc},
    {"scan_items", py_scan_items, METH_VARARGS, scan_items_doc},
    {"scan_line", py_scan_line, METH_VARARGS, scan_line_doc},
    {"has_long_number", py_has_long_number, METH_O, has_long_number_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "producer.read.framing._jsonscan",
    "Validate and cut JSON values in byte buffers without building Python objects.", -1, methods,
};

PyMODINIT_FUNC PyInit__jsonscan(void) {
    init_tables();
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) {
        return NULL;
    }
    struct {
        const char *name;
        int value;
    } constants[] = {
        {"OK", STATUS_OK},       {"INCOMPLETE", STATUS_INCOMPLETE}, {"DONE", STATUS_DONE},
        {"ERR_TOKEN", ERR_TOKEN}, {"ERR_UTF8", ERR_UTF8},             {"ERR_DEPTH", ERR_DEPTH},
        {"ERR_CONTROL", ERR_CONTROL}, {"ERR_ESCAPE", ERR_ESCAPE},     {"ERR_NUMBER", ERR_NUMBER},
        {"FLAG_OBJECT", FLAG_OBJECT}, {"FLAG_HAS_FIELD", FLAG_HAS_FIELD},
        {"FLAG_UNSURE", FLAG_UNSURE}, {"FLAG_EMPTY", FLAG_EMPTY}, {"FLAG_BIG_INT", FLAG_BIG_INT},
        {"FLAG_BIG_EXP", FLAG_BIG_EXP}, {"FLAG_SURROGATE", FLAG_SURROGATE},
        {"SPLICE_REFUSED", SPLICE_REFUSED},
    };
    for (size_t i = 0; i < sizeof(constants) / sizeof(constants[0]); i++) {
        if (PyModule_AddIntConstant(m, constants[i].name, constants[i].value) < 0) {
            Py_DECREF(m);
            return NULL;
        }
    }
    return m;
}
