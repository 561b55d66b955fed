/*
 * producer._jsonscan, part 1: status codes, flags, the scan state, and the tokens of JSON (whitespace,
 * strings with escapes and strict UTF-8, numbers, literals). Included once, by _jsonscan.c.
 */
#ifndef SPOOLBRIDGE_JSONSCAN_TOKENS_H
#define SPOOLBRIDGE_JSONSCAN_TOKENS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

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
    FLAG_BIG_INT = 16,  /* an integer of 19 or more digits (may not fit in 64 bits; kept as written) */
    FLAG_BIG_EXP = 32,  /* a non-integer that may be outside the range of a double: an exponent of 3 or
                           more digits, or 19 or more digits before the point or exponent */
    FLAG_SURROGATE = 64, /* a lone surrogate escape in a string: \\uD800-\\uDBFF not followed by
                            \\uDC00-\\uDFFF, or \\uDC00-\\uDFFF not preceded by one (not valid Unicode) */
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

/* Container stacks and keys live in the Scan itself up to these sizes (no allocation for the common,
 * shallow record: one JSON Lines line is one scan), and are moved to the heap when a value needs more. */
#define INLINE_DEPTH 32
#define INLINE_KEYS 64

typedef struct {
    const unsigned char *buf;
    Py_ssize_t len;
    int final;     /* the buffer holds the rest of the input: a number may end at the end */
    int max_depth; /* deepest allowed container */
    Py_ssize_t err_pos;
    int big_int; /* an integer of 19+ digits was seen */
    int big_exp; /* a number that may be outside a double's range was seen */
    int surrogate; /* a lone surrogate escape was seen */
    /* container stack, indexed by depth (cap_depth entries) */
    int cap_depth;
    char *kind;          /* '{' or '[' */
    Py_ssize_t *key_base;    /* index of the container's first key in `keys` */
    uint64_t *key_bloom; /* one bit per key hash, to skip the linear check */
    KeyEntry *keys;
    Py_ssize_t nkeys, cap_keys;
    char inline_kind[INLINE_DEPTH];
    Py_ssize_t inline_key_base[INLINE_DEPTH];
    uint64_t inline_key_bloom[INLINE_DEPTH];
    KeyEntry inline_keys[INLINE_KEYS];
} Scan;

/* Never fails; call it before anything that may fail, since scan_free must always follow it. */
static void scan_init(Scan *s, const unsigned char *buf, Py_ssize_t len, int final, int max_depth) {
    s->buf = buf;
    s->len = len;
    s->final = final;
    s->max_depth = max_depth;
    s->err_pos = 0;
    s->big_int = s->big_exp = s->surrogate = 0;
    s->cap_depth = INLINE_DEPTH;
    s->kind = s->inline_kind;
    s->key_base = s->inline_key_base;
    s->key_bloom = s->inline_key_bloom;
    s->keys = s->inline_keys;
    s->nkeys = 0;
    s->cap_keys = INLINE_KEYS;
}

static void scan_free(Scan *s) {
    if (s->kind != s->inline_kind) {
        PyMem_Free(s->kind);
        PyMem_Free(s->key_base);
        PyMem_Free(s->key_bloom);
    }
    if (s->keys != s->inline_keys) {
        PyMem_Free(s->keys);
    }
}

/* Room for depth `depth` (<= max_depth) in the container stacks; -1 with MemoryError. */
static int grow_depth(Scan *s, int depth) {
    int cap = s->cap_depth;
    while (cap <= depth) {
        cap *= 2;
    }
    if (cap > s->max_depth + 2) {
        cap = s->max_depth + 2;
    }
    char *kind = PyMem_Malloc((size_t)cap);
    Py_ssize_t *key_base = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)cap);
    uint64_t *key_bloom = PyMem_Malloc(sizeof(uint64_t) * (size_t)cap);
    if (!kind || !key_base || !key_bloom) {
        PyMem_Free(kind);
        PyMem_Free(key_base);
        PyMem_Free(key_bloom);
        PyErr_NoMemory();
        return -1;
    }
    memcpy(kind, s->kind, (size_t)s->cap_depth);
    memcpy(key_base, s->key_base, sizeof(Py_ssize_t) * (size_t)s->cap_depth);
    memcpy(key_bloom, s->key_bloom, sizeof(uint64_t) * (size_t)s->cap_depth);
    if (s->kind != s->inline_kind) {
        PyMem_Free(s->kind);
        PyMem_Free(s->key_base);
        PyMem_Free(s->key_bloom);
    }
    s->kind = kind;
    s->key_base = key_base;
    s->key_bloom = key_bloom;
    s->cap_depth = cap;
    return 0;
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

static inline int hex_value(unsigned char c) {
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* b[*ppos] starts a valid \\uD800-\\uDFFF escape. A high surrogate followed by a low one is a pair
 * (both are stepped over); anything else is a lone surrogate (s->surrogate). INCOMPLETE when the buffer
 * ends before the escape that would complete a pair could be seen. */
static int surrogate_escape(Scan *s, Py_ssize_t *ppos) {
    const unsigned char *b = s->buf;
    Py_ssize_t pos = *ppos, len = s->len;
    *ppos = pos + 6;
    if (hex_value(b[pos + 3]) >= 0xC) { /* DC00-DFFF: a low surrogate not preceded by a high one */
        s->surrogate = 1;
        return STATUS_OK;
    }
    for (int i = 0; i < 6; i++) { /* the next six bytes must be \\u, d, then c-f and two hex digits */
        if (pos + 6 + i >= len) {
            return STATUS_INCOMPLETE;
        }
        unsigned char c = b[pos + 6 + i];
        int ok = i == 0   ? c == '\\'
                 : i == 1 ? c == 'u'
                 : i == 2 ? (c | 0x20) == 'd'
                 : i == 3 ? is_hex(c) && hex_value(c) >= 0xC
                          : is_hex(c);
        if (!ok) { /* lone; an invalid escape that follows is reported when it is scanned */
            s->surrogate = 1;
            return STATUS_OK;
        }
    }
    *ppos = pos + 12;
    return STATUS_OK;
}

#define ONES 0x0101010101010101ULL

/* b[*pos] is '"'. On OK, *pos is just after the closing quote and *escaped says whether a backslash
 * occurred. */
static int scan_string(Scan *s, Py_ssize_t *ppos, int *escaped) {
    const unsigned char *b = s->buf;
    Py_ssize_t len = s->len, pos = *ppos + 1;
    for (;;) {
#ifdef __SSE2__
        /* 16 bytes at a time; a signed "< 0x20" is true for control characters and non-ASCII alike */
        while (pos + 16 <= len) {
            __m128i v = _mm_loadu_si128((const __m128i *)(b + pos));
            __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                                                     _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                                        _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)));
            int mask = _mm_movemask_epi8(stop);
            if (mask != 0) {
                pos += __builtin_ctz((unsigned)mask);
                break;
            }
            pos += 16;
        }
#endif
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
                if ((b[pos + 2] | 0x20) == 'd' && b[pos + 3] >= '8') {
                    int st = surrogate_escape(s, &pos);
                    if (st != STATUS_OK) {
                        return st;
                    }
                    break;
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
    if (pos - digits >= 19) {
        if (pos >= len || (b[pos] != '.' && b[pos] != 'e' && b[pos] != 'E')) {
            s->big_int = 1;
        } else {
            s->big_exp = 1; /* 19+ digits before a fraction or exponent: the double may overflow */
        }
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

#endif
