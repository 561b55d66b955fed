/*
 * producer._jsonscan, part 2: one whole JSON value (containers with an explicit stack, the depth limit,
 * the record's own keys and the repeated-key check). Included once, by _jsonscan.c.
 */
#ifndef SPOOLBRIDGE_JSONSCAN_VALUE_H
#define SPOOLBRIDGE_JSONSCAN_VALUE_H

#include "_jsonscan_tokens.h"

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
        KeyEntry *grown = PyMem_Malloc(sizeof(KeyEntry) * (size_t)cap);
        if (!grown) {
            PyErr_NoMemory();
            return -1;
        }
        memcpy(grown, s->keys, sizeof(KeyEntry) * (size_t)s->nkeys);
        if (s->keys != s->inline_keys) {
            PyMem_Free(s->keys);
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
    s->surrogate = 0;

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
        if (depth >= s->cap_depth && grow_depth(s, depth) < 0) {
            return -1;
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
        if (depth >= s->cap_depth && grow_depth(s, depth) < 0) {
            return -1;
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
        if (s->surrogate) {
            *flags |= FLAG_SURROGATE;
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

#endif
