/*
 * producer._jsonscan: validate JSON values in a byte buffer and find where they end, without building
 * Python objects. Used by producer/scan.py to cut a big array or object of records into the raw bytes of
 * each record, and to splice the source field into a record's own text (see that module for the
 * contract). The pure-Python fallback (ijson) is used when this module cannot be imported.
 *
 * Grammar: RFC 8259 exactly. Strings: no raw control characters, only the escapes \" \\ \/ \b \f \n \r
 * \t \uXXXX, strict UTF-8 (no overlong forms, no encoded surrogates, nothing above U+10FFFF). Numbers:
 * -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?. Literals true, false, null. Nesting: a container opened
 * at depth > max_depth is an error (the caller's container is depth `depth`, so a record directly inside
 * the top-level array is opened at depth + 1).
 *
 * Status codes (see STATUS_* below): a scan that reaches the end of the buffer before the value is
 * complete returns INCOMPLETE (more bytes may complete it); every error is definite, i.e. no bytes
 * appended later can make the value valid, and carries the offset of the offending byte.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

enum {
    STATUS_OK = 0,
    STATUS_INCOMPLETE = 1,
    STATUS_DONE = 2,
    ERR_TOKEN = 3,
    ERR_UTF8 = 4,
    ERR_DEPTH = 5,
    ERR_CONTROL = 6,
    ERR_ESCAPE = 7,
    ERR_NUMBER = 8,
};

enum {
    FLAG_OBJECT = 1,    /* the value is an object */
    FLAG_HAS_FIELD = 2, /* ... with a top-level key equal to `field` */
    FLAG_UNSURE = 4,    /* a key has escapes, or repeats, or an object has too many keys to check */
    FLAG_EMPTY = 8,     /* the object is {} (whitespace inside allowed) */
    FLAG_BIG_INT = 16,  /* an integer of 19 or more digits (may not fit in 64 bits) */
    FLAG_BIG_EXP = 32,  /* an exponent of 3 or more digits (the double may overflow) */
};

/* Objects with more keys than this are not checked for repeated keys (FLAG_UNSURE instead). */
#define MAX_CHECKED_KEYS 128

/* Character classes inside strings: 0 plain, 1 quote, 2 backslash, 3 control, 4 non-ASCII. */
static unsigned char string_class[256];

static void init_tables(void) {
    for (int i = 0; i < 256; i++) {
        string_class[i] = i < 0x20 ? 3 : i >= 0x80 ? 4 : 0;
    }
    string_class['"'] = 1;
    string_class['\\'] = 2;
}

typedef struct {
    uint32_t hash;
    Py_ssize_t start;
    Py_ssize_t len;
} KeyEntry;

typedef struct {
    const unsigned char *buf;
    Py_ssize_t len;
    int final;     /* the buffer holds the rest of the input: a number may end at the end */
    int max_depth; /* deepest allowed container */
    Py_ssize_t err_pos;
    int big_int; /* an integer of 19+ digits was seen */
    int big_exp; /* an exponent of 3+ digits was seen */
    /* container stack, indexed by depth */
    char *kind;          /* '{' or '[' */
    Py_ssize_t *key_base;    /* index of the container's first key in `keys` */
    uint64_t *key_bloom; /* one bit per key hash, to skip the linear check */
    KeyEntry *keys;
    Py_ssize_t nkeys, cap_keys;
} Scan;

static int scan_init(Scan *s, const unsigned char *buf, Py_ssize_t len, int final, int max_depth) {
    s->buf = buf;
    s->len = len;
    s->final = final;
    s->max_depth = max_depth;
    s->err_pos = 0;
    s->nkeys = 0;
    s->cap_keys = 256;
    s->kind = PyMem_Malloc((size_t)max_depth + 2);
    s->key_base = PyMem_Malloc(sizeof(Py_ssize_t) * ((size_t)max_depth + 2));
    s->key_bloom = PyMem_Malloc(sizeof(uint64_t) * ((size_t)max_depth + 2));
    s->keys = PyMem_Malloc(sizeof(KeyEntry) * (size_t)s->cap_keys);
    if (!s->kind || !s->key_base || !s->key_bloom || !s->keys) {
        PyErr_NoMemory();
        return -1;
    }
    return 0;
}

static void scan_free(Scan *s) {
    PyMem_Free(s->kind);
    PyMem_Free(s->key_base);
    PyMem_Free(s->key_bloom);
    PyMem_Free(s->keys);
}

static inline int is_ws(unsigned char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

static inline Py_ssize_t skip_ws(const unsigned char *b, Py_ssize_t pos, Py_ssize_t len) {
    while (pos < len && is_ws(b[pos])) {
        pos++;
    }
    return pos;
}

static inline int is_hex(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Length of the valid UTF-8 sequence at b[pos] (lead byte >= 0x80), 0 if invalid, -1 if the buffer ends
 * inside a sequence that is valid so far. */
static int utf8_length(const unsigned char *b, Py_ssize_t pos, Py_ssize_t len) {
    unsigned char c = b[pos];
    int n;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) {
            lo = 0xA0;
        } else if (c == 0xED) {
            hi = 0x9F; /* no UTF-16 surrogates */
        }
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) {
            lo = 0x90;
        } else if (c == 0xF4) {
            hi = 0x8F;
        }
    } else {
        return 0;
    }
    for (int i = 1; i < n; i++) {
        if (pos + i >= len) {
            return -1;
        }
        unsigned char d = b[pos + i];
        if (i == 1 ? (d < lo || d > hi) : (d < 0x80 || d > 0xBF)) {
            return 0;
        }
    }
    return n;
}

#define ONES 0x0101010101010101ULL

/* b[*pos] is '"'. On OK, *pos is just after the closing quote and *escaped says whether a backslash
 * occurred. */
static int scan_string(Scan *s, Py_ssize_t *ppos, int *escaped) {
    const unsigned char *b = s->buf;
    Py_ssize_t len = s->len, pos = *ppos + 1;
    for (;;) {
        /* 8 bytes at a time while none is a quote, a backslash, a control character or non-ASCII */
        while (pos + 8 <= len) {
            uint64_t w, q, e;
            memcpy(&w, b + pos, 8);
            q = w ^ (ONES * '"');
            e = w ^ (ONES * '\\');
            if ((((q - ONES) & ~q) | ((e - ONES) & ~e) | (w - ONES * 0x20) | w) & (ONES * 0x80)) {
                break;
            }
            pos += 8;
        }
        while (pos < len && string_class[b[pos]] == 0) {
            pos++;
        }
        if (pos >= len) {
            return STATUS_INCOMPLETE;
        }
        switch (string_class[b[pos]]) {
        case 1:
            *ppos = pos + 1;
            return STATUS_OK;
        case 2:
            *escaped = 1;
            if (pos + 1 >= len) {
                return STATUS_INCOMPLETE;
            }
            switch (b[pos + 1]) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                pos += 2;
                break;
            case 'u':
                for (int i = 2; i < 6; i++) {
                    if (pos + i >= len) {
                        return STATUS_INCOMPLETE;
                    }
                    if (!is_hex(b[pos + i])) {
                        s->err_pos = pos;
                        return ERR_ESCAPE;
                    }
                }
                pos += 6;
                break;
            default:
                s->err_pos = pos;
                return ERR_ESCAPE;
            }
            break;
        case 3:
            s->err_pos = pos;
            return ERR_CONTROL;
        default: {
            int n = utf8_length(b, pos, len);
            if (n < 0) {
                return STATUS_INCOMPLETE;
            }
            if (n == 0) {
                s->err_pos = pos;
                return ERR_UTF8;
            }
            pos += n;
        }
        }
    }
}

static inline int need_digit(Scan *s, Py_ssize_t pos) {
    if (pos >= s->len) {
        return STATUS_INCOMPLETE;
    }
    if (s->buf[pos] < '0' || s->buf[pos] > '9') {
        s->err_pos = pos;
        return ERR_NUMBER;
    }
    return STATUS_OK;
}

static int scan_number(Scan *s, Py_ssize_t *ppos) {
    const unsigned char *b = s->buf;
    Py_ssize_t len = s->len, pos = *ppos;
    int st;
    if (b[pos] == '-') {
        pos++;
    }
    if ((st = need_digit(s, pos)) != STATUS_OK) {
        return st;
    }
    Py_ssize_t digits = pos;
    if (b[pos] == '0') {
        pos++;
    } else {
        while (pos < len && b[pos] >= '0' && b[pos] <= '9') {
            pos++;
        }
    }
    if (pos - digits >= 19 && (pos >= len || (b[pos] != '.' && b[pos] != 'e' && b[pos] != 'E'))) {
        s->big_int = 1;
    }
    if (pos < len && b[pos] == '.') {
        if ((st = need_digit(s, ++pos)) != STATUS_OK) {
            return st;
        }
        while (pos < len && b[pos] >= '0' && b[pos] <= '9') {
            pos++;
        }
    }
    if (pos < len && (b[pos] == 'e' || b[pos] == 'E')) {
        pos++;
        if (pos < len && (b[pos] == '+' || b[pos] == '-')) {
            pos++;
        }
        if ((st = need_digit(s, pos)) != STATUS_OK) {
            return st;
        }
        Py_ssize_t exp_digits = pos;
        while (pos < len && b[pos] >= '0' && b[pos] <= '9') {
            pos++;
        }
        if (pos - exp_digits >= 3) {
            s->big_exp = 1;
        }
    }
    if (pos >= len && !s->final) {
        return STATUS_INCOMPLETE; /* more digits may follow */
    }
    *ppos = pos;
    return STATUS_OK;
}

static int scan_literal(Scan *s, Py_ssize_t *ppos, const char *word, Py_ssize_t n) {
    Py_ssize_t pos = *ppos;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (pos + i >= s->len) {
            return STATUS_INCOMPLETE;
        }
        if (s->buf[pos + i] != (unsigned char)word[i]) {
            s->err_pos = pos + i;
            return ERR_TOKEN;
        }
    }
    *ppos = pos + n;
    return STATUS_OK;
}

/* An unexpected byte at pos: invalid UTF-8 if it starts no valid sequence, else an invalid token. */
static int unexpected(Scan *s, Py_ssize_t pos) {
    s->err_pos = pos;
    if (s->buf[pos] >= 0x80 && utf8_length(s->buf, pos, s->len) == 0) {
        return ERR_UTF8;
    }
    return ERR_TOKEN;
}

/* A cheap key hash for the repeated-key check (keys are compared in full when hashes meet). */
static inline uint32_t key_hash(const unsigned char *p, Py_ssize_t n) {
    uint32_t h = (uint32_t)n * 0x9E3779B1u;
    if (n > 0) {
        h ^= (uint32_t)p[0] * 0x85EBCA77u ^ (uint32_t)p[n - 1] * 0xC2B2AE3Du ^ (uint32_t)p[n / 2] * 0x27D4EB2Fu;
    }
    return h ^ (h >> 15);
}

/* Remember the key b[start:start+n] of the object at `depth`; set FLAG_UNSURE if it repeats. */
static int note_key(Scan *s, int depth, Py_ssize_t start, Py_ssize_t n, int *flags) {
    Py_ssize_t base = s->key_base[depth], count = s->nkeys - base;
    if (*flags & FLAG_UNSURE) {
        return 0;
    }
    if (count >= MAX_CHECKED_KEYS) {
        *flags |= FLAG_UNSURE;
        return 0;
    }
    uint32_t h = key_hash(s->buf + start, n);
    uint64_t bit = (uint64_t)1 << (h & 63);
    if (s->key_bloom[depth] & bit) {
        for (Py_ssize_t i = base; i < s->nkeys; i++) {
            KeyEntry *k = &s->keys[i];
            if (k->hash == h && k->len == n && memcmp(s->buf + k->start, s->buf + start, (size_t)n) == 0) {
                *flags |= FLAG_UNSURE;
                return 0;
            }
        }
    }
    s->key_bloom[depth] |= bit;
    if (s->nkeys == s->cap_keys) {
        Py_ssize_t cap = s->cap_keys * 2;
        KeyEntry *grown = PyMem_Realloc(s->keys, sizeof(KeyEntry) * (size_t)cap);
        if (!grown) {
            PyErr_NoMemory();
            return -1;
        }
        s->keys = grown;
        s->cap_keys = cap;
    }
    s->keys[s->nkeys++] = (KeyEntry){h, start, n};
    return 0;
}

/*
 * Scan the value starting at *ppos (no leading whitespace), inside a container at `depth`. On OK, *ppos
 * is the end of the value. `field` (may be NULL) is compared with the keys of the value itself when it
 * is an object; *flags receives FLAG_*. Returns a status; -1 with a Python exception on memory errors.
 */
static int scan_value(Scan *s, Py_ssize_t *ppos, int depth, const char *field, Py_ssize_t field_len,
                      int *flags) {
    const unsigned char *b = s->buf;
    Py_ssize_t len = s->len, pos = *ppos;
    int base_depth = depth, st, escaped;
    *flags = 0;
    s->nkeys = 0;
    s->big_int = 0;
    s->big_exp = 0;

value:
    if (pos >= len) {
        return STATUS_INCOMPLETE;
    }
    switch (b[pos]) {
    case '{':
        if (++depth > s->max_depth) {
            s->err_pos = pos;
            return ERR_DEPTH;
        }
        s->kind[depth] = '{';
        s->key_base[depth] = s->nkeys;
        s->key_bloom[depth] = 0;
        if (depth == base_depth + 1) {
            *flags |= FLAG_OBJECT;
        }
        pos = skip_ws(b, pos + 1, len);
        if (pos >= len) {
            return STATUS_INCOMPLETE;
        }
        if (b[pos] == '}') {
            if (depth == base_depth + 1) {
                *flags |= FLAG_EMPTY;
            }
            pos++;
            depth--;
            goto after_value;
        }
        goto key;
    case '[':
        if (++depth > s->max_depth) {
            s->err_pos = pos;
            return ERR_DEPTH;
        }
        s->kind[depth] = '[';
        pos = skip_ws(b, pos + 1, len);
        if (pos >= len) {
            return STATUS_INCOMPLETE;
        }
        if (b[pos] == ']') {
            pos++;
            depth--;
            goto after_value;
        }
        goto value;
    case '"':
        escaped = 0;
        if ((st = scan_string(s, &pos, &escaped)) != STATUS_OK) {
            return st;
        }
        goto after_value;
    case '-': case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': case '8':
    case '9':
        if ((st = scan_number(s, &pos)) != STATUS_OK) {
            return st;
        }
        goto after_value;
    case 't':
        st = scan_literal(s, &pos, "true", 4);
        break;
    case 'f':
        st = scan_literal(s, &pos, "false", 5);
        break;
    case 'n':
        st = scan_literal(s, &pos, "null", 4);
        break;
    default:
        return unexpected(s, pos);
    }
    if (st != STATUS_OK) {
        return st;
    }
    goto after_value;

key:
    if (b[pos] != '"') {
        return unexpected(s, pos);
    }
    {
        Py_ssize_t start = pos;
        escaped = 0;
        if ((st = scan_string(s, &pos, &escaped)) != STATUS_OK) {
            return st;
        }
        if (escaped) {
            *flags |= FLAG_UNSURE;
        } else {
            Py_ssize_t n = pos - start - 2;
            if (depth == base_depth + 1 && field != NULL && n == field_len &&
                memcmp(b + start + 1, field, (size_t)n) == 0) {
                *flags |= FLAG_HAS_FIELD;
            }
            if (note_key(s, depth, start + 1, n, flags) < 0) {
                return -1;
            }
        }
    }
    pos = skip_ws(b, pos, len);
    if (pos >= len) {
        return STATUS_INCOMPLETE;
    }
    if (b[pos] != ':') {
        return unexpected(s, pos);
    }
    pos = skip_ws(b, pos + 1, len);
    goto value;

after_value:
    if (depth == base_depth) {
        if (s->big_int) {
            *flags |= FLAG_BIG_INT;
        }
        if (s->big_exp) {
            *flags |= FLAG_BIG_EXP;
        }
        *ppos = pos;
        return STATUS_OK;
    }
    pos = skip_ws(b, pos, len);
    if (pos >= len) {
        return STATUS_INCOMPLETE;
    }
    if (b[pos] == ',') {
        pos = skip_ws(b, pos + 1, len);
        if (pos >= len) {
            return STATUS_INCOMPLETE;
        }
        if (s->kind[depth] == '{') {
            goto key;
        }
        goto value;
    }
    if (b[pos] == (s->kind[depth] == '{' ? '}' : ']')) {
        if (s->kind[depth] == '{') {
            s->nkeys = s->key_base[depth];
        }
        pos++;
        depth--;
        goto after_value;
    }
    return unexpected(s, pos);
}

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
    Scan s = {0};
    if (scan_init(&s, view.buf, view.len, final, max_depth) < 0) {
        scan_free(&s);
        PyBuffer_Release(&view);
        return NULL;
    }
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
    "element is an object without FLAG_HAS_FIELD, FLAG_UNSURE or FLAG_BIG_EXP and `member` is not\n"
    "None, else None. Returns with status DONE (pos after the closing bracket), INCOMPLETE (pos\n"
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
    Scan s = {0};
    if (items == NULL || scan_init(&s, b, len, final, max_depth) < 0) {
        Py_XDECREF(items);
        scan_free(&s);
        PyBuffer_Release(&view);
        return NULL;
    }
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
        if (key != NULL && member != NULL && (flags & FLAG_OBJECT) &&
            !(flags & (FLAG_HAS_FIELD | FLAG_UNSURE | FLAG_BIG_EXP))) {
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

static PyMethodDef methods[] = {
    {"scan_value", py_scan_value, METH_VARARGS, scan_value_doc},
    {"scan_items", py_scan_items, METH_VARARGS, scan_items_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "producer._jsonscan",
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
        {"FLAG_BIG_EXP", FLAG_BIG_EXP},
    };
    for (size_t i = 0; i < sizeof(constants) / sizeof(constants[0]); i++) {
        if (PyModule_AddIntConstant(m, constants[i].name, constants[i].value) < 0) {
            Py_DECREF(m);
            return NULL;
        }
    }
    return m;
}
