/* The JSON reader and writer of lv_json.h. Recursive descent, depth-limited, no global state. */
#include "lv_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deeper documents are refused instead of risking the stack; no real keyring nests past 3. */
#define MAX_DEPTH 512

typedef struct {
    const unsigned char *p, *end;
    int depth;
} parser;

int32_t lv_utf8_next(const unsigned char *s, size_t len, size_t *pos)
{
    size_t i = *pos;
    unsigned char c = s[i];
    int32_t cp;
    size_t need;
    if (c < 0x80) {
        *pos = i + 1;
        return c;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        cp = c & 0x1F;
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        cp = c & 0x0F;
        need = 2;
    } else if (c >= 0xF0 && c <= 0xF4) {
        cp = c & 0x07;
        need = 3;
    } else {
        return -1;
    }
    if (len - i <= need)
        return -1;
    for (size_t k = 1; k <= need; k++) {
        unsigned char d = s[i + k];
        if ((d & 0xC0) != 0x80)
            return -1;
        cp = (cp << 6) | (d & 0x3F);
    }
    if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return -1;
    *pos = i + need + 1;
    return cp;
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int put_utf8(char *out, size_t *n, uint32_t cp)
{
    if (cp < 0x80) {
        out[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        out[(*n)++] = (char)(0xC0 | (cp >> 6));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) { /* lone surrogates from \u escapes land here too (3 bytes) */
        out[(*n)++] = (char)(0xE0 | (cp >> 12));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[(*n)++] = (char)(0xF0 | (cp >> 18));
        out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[(*n)++] = (char)(0x80 | (cp & 0x3F));
    }
    return 0;
}

static int hex4(const unsigned char *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static int parse_string(parser *ps, lj_value *v)
{
    const unsigned char *start = ++ps->p; /* after the quote */
    /* The decoded text is never longer than the escaped text. */
    const unsigned char *q = start;
    while (q < ps->end && *q != '"') {
        if (*q == '\\')
            q++;
        q++;
    }
    if (q >= ps->end)
        return -1;
    char *out = malloc((size_t)(q - start) + 1);
    if (!out)
        return -1;
    size_t n = 0;
    const unsigned char *p = start;
    while (p < q) {
        unsigned char c = *p;
        if (c < 0x20)
            goto fail;
        if (c == '\\') {
            unsigned char e = p[1];
            p += 2;
            switch (e) {
            case '"': out[n++] = '"'; break;
            case '\\': out[n++] = '\\'; break;
            case '/': out[n++] = '/'; break;
            case 'b': out[n++] = '\b'; break;
            case 'f': out[n++] = '\f'; break;
            case 'n': out[n++] = '\n'; break;
            case 'r': out[n++] = '\r'; break;
            case 't': out[n++] = '\t'; break;
            case 'u': {
                uint32_t cp, low;
                if (q - p < 4 || hex4(p, &cp))
                    goto fail;
                p += 4;
                if (cp >= 0xD800 && cp <= 0xDBFF && q - p >= 6 && p[0] == '\\' && p[1] == 'u' &&
                    hex4(p + 2, &low) == 0 && low >= 0xDC00 && low <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    p += 6;
                }
                put_utf8(out, &n, cp);
                break;
            }
            default:
                goto fail;
            }
        } else if (c < 0x80) {
            out[n++] = (char)c;
            p++;
        } else {
            size_t pos = (size_t)(p - start);
            size_t before = pos;
            if (lv_utf8_next(start, (size_t)(q - start), &pos) < 0)
                goto fail;
            memcpy(out + n, p, pos - before);
            n += pos - before;
            p = start + pos;
        }
    }
    out[n] = '\0';
    v->type = LJ_STRING;
    v->text = out;
    v->len = n;
    ps->p = q + 1;
    return 0;
fail:
    free(out);
    return -1;
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static int parse_number(parser *ps, lj_value *v)
{
    const unsigned char *s = ps->p, *p = s, *e = ps->end;
    if (p < e && *p == '-')
        p++;
    if (p >= e || !is_digit(*p))
        return -1;
    if (*p == '0')
        p++;
    else
        while (p < e && is_digit(*p))
            p++;
    if (p < e && *p == '.') {
        p++;
        if (p >= e || !is_digit(*p))
            return -1;
        while (p < e && is_digit(*p))
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (p >= e || !is_digit(*p))
            return -1;
        while (p < e && is_digit(*p))
            p++;
    }
    size_t n = (size_t)(p - s);
    v->text = malloc(n + 1);
    if (!v->text)
        return -1;
    memcpy(v->text, s, n);
    v->text[n] = '\0';
    v->len = n;
    v->type = LJ_NUMBER;
    ps->p = p;
    return 0;
}

static int parse_value(parser *ps, lj_value *v);

static int grow(lj_value *v, size_t *cap, int with_names)
{
    if (v->count < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 4;
    lj_value *items = realloc(v->items, ncap * sizeof *items);
    if (!items)
        return -1;
    v->items = items;
    if (with_names) {
        lj_value *names = realloc(v->names, ncap * sizeof *names);
        if (!names)
            return -1;
        v->names = names;
    }
    *cap = ncap;
    return 0;
}

static int parse_container(parser *ps, lj_value *v, int object)
{
    size_t cap = 0;
    v->type = object ? LJ_OBJECT : LJ_ARRAY;
    if (++ps->depth > MAX_DEPTH)
        return -1;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == (object ? '}' : ']')) {
        ps->p++;
        ps->depth--;
        return 0;
    }
    for (;;) {
        if (grow(v, &cap, object))
            return -1;
        lj_value *item = &v->items[v->count];
        memset(item, 0, sizeof *item);
        if (object) {
            lj_value *name = &v->names[v->count];
            memset(name, 0, sizeof *name);
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != '"')
                return -1;
            if (parse_string(ps, name)) {
                return -1;
            }
            v->count++; /* counted now so that lj_free releases the name on a later failure */
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':')
                return -1;
            ps->p++;
            if (parse_value(ps, item))
                return -1;
        } else {
            v->count++;
            if (parse_value(ps, item))
                return -1;
        }
        skip_ws(ps);
        if (ps->p >= ps->end)
            return -1;
        if (*ps->p == ',') {
            ps->p++;
            continue;
        }
        if (*ps->p == (object ? '}' : ']')) {
            ps->p++;
            ps->depth--;
            return 0;
        }
        return -1;
    }
}

static int literal(parser *ps, const char *word, lj_value *v, lj_type type)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return -1;
    ps->p += n;
    v->type = type;
    return 0;
}

static int parse_value(parser *ps, lj_value *v)
{
    skip_ws(ps);
    if (ps->p >= ps->end)
        return -1;
    switch (*ps->p) {
    case '{': return parse_container(ps, v, 1);
    case '[': return parse_container(ps, v, 0);
    case '"': return parse_string(ps, v);
    case 't': return literal(ps, "true", v, LJ_TRUE);
    case 'f': return literal(ps, "false", v, LJ_FALSE);
    case 'n': return literal(ps, "null", v, LJ_NULL);
    default: return parse_number(ps, v);
    }
}

static void free_inner(lj_value *v)
{
    free(v->text);
    for (size_t i = 0; i < v->count; i++) {
        free_inner(&v->items[i]);
        if (v->names)
            free_inner(&v->names[i]);
    }
    free(v->items);
    free(v->names);
}

void lj_free(lj_value *v)
{
    if (v) {
        free_inner(v);
        free(v);
    }
}

lj_value *lj_parse(const char *text, size_t len)
{
    parser ps = {(const unsigned char *)text, (const unsigned char *)text + len, 0};
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        ps.p += 3; /* one BOM at the very start, as Windows editors write it */
    lj_value *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    if (parse_value(&ps, v)) {
        lj_free(v);
        return NULL;
    }
    skip_ws(&ps);
    if (ps.p != ps.end) {
        lj_free(v);
        return NULL;
    }
    return v;
}

const lj_value *lj_get(const lj_value *obj, const char *name)
{
    if (!obj || obj->type != LJ_OBJECT)
        return NULL;
    size_t n = strlen(name);
    for (size_t i = obj->count; i-- > 0;) /* the last duplicate wins */
        if (obj->names[i].len == n && memcmp(obj->names[i].text, name, n) == 0)
            return &obj->items[i];
    return NULL;
}

int lj_is_string(const lj_value *v, const char *expected)
{
    return v && v->type == LJ_STRING && v->len == strlen(expected) && memcmp(v->text, expected, v->len) == 0;
}

int lj_whole(const lj_value *v, uint64_t max, uint64_t *out)
{
    if (!v || v->type != LJ_NUMBER)
        return 0;
    /* By value, as an IEEE double (what Python's float and JavaScript read): 4, 4.0, 4e0 and -0
     * are all 4 or 0; every integer notation up to 2^53-1 is exact, anything above rounds to
     * 2^53 or more and is refused. strtod rounds correctly, but reads the locale's decimal
     * point (and localeconv is not thread-safe), so the number is handed to it without one:
     * "I.F e X" as the same value "IF e (X - len(F))". */
    const char *t = v->text, *end = t + v->len;
    char small[64];
    char *buf = v->len + 24 <= sizeof small ? small : malloc(v->len + 24);
    if (!buf)
        return 0;
    size_t n = 0;
    long long exponent = 0, fraction_digits = 0;
    if (t < end && *t == '-')
        buf[n++] = *t++;
    while (t < end && *t >= '0' && *t <= '9')
        buf[n++] = *t++;
    if (t < end && *t == '.')
        for (t++; t < end && *t >= '0' && *t <= '9'; t++, fraction_digits++)
            buf[n++] = *t;
    if (t < end && (*t == 'e' || *t == 'E')) {
        int negative = 0;
        t++;
        if (t < end && (*t == '+' || *t == '-'))
            negative = *t++ == '-';
        for (; t < end; t++) /* saturates far beyond any double's range */
            if (exponent < 100000000)
                exponent = exponent * 10 + (*t - '0');
        if (negative)
            exponent = -exponent;
    }
    snprintf(buf + n, 24, "e%lld", exponent - fraction_digits);
    double d = strtod(buf, NULL);
    if (buf != small)
        free(buf);
    if (!isfinite(d) || d != floor(d) || d < 0.0 || d > (double)max)
        return 0;
    *out = (uint64_t)d;
    return 1;
}

/* ---- writing ---- */

void lj_buf_raw(lj_buf *b, const char *text, size_t len)
{
    if (b->failed)
        return;
    if (b->len + len + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 256;
        while (ncap < b->len + len + 1)
            ncap *= 2;
        char *data = realloc(b->data, ncap);
        if (!data) {
            b->failed = 1;
            return;
        }
        b->data = data;
        b->cap = ncap;
    }
    memcpy(b->data + b->len, text, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void lj_buf_str(lj_buf *b, const char *text) { lj_buf_raw(b, text, strlen(text)); }

static void put_u(lj_buf *b, uint32_t unit)
{
    static const char hex[] = "0123456789abcdef";
    char e[6] = {'\\', 'u', hex[(unit >> 12) & 15], hex[(unit >> 8) & 15], hex[(unit >> 4) & 15], hex[unit & 15]};
    lj_buf_raw(b, e, 6);
}

void lj_buf_string(lj_buf *b, const char *utf8, size_t len)
{
    const unsigned char *s = (const unsigned char *)utf8;
    lj_buf_raw(b, "\"", 1);
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
            size_t j = i;
            while (j < len && s[j] >= 0x20 && s[j] < 0x7F && s[j] != '"' && s[j] != '\\')
                j++;
            lj_buf_raw(b, utf8 + i, j - i);
            i = j;
            continue;
        }
        switch (c) {
        case '"': lj_buf_raw(b, "\\\"", 2); i++; continue;
        case '\\': lj_buf_raw(b, "\\\\", 2); i++; continue;
        case '\n': lj_buf_raw(b, "\\n", 2); i++; continue;
        case '\r': lj_buf_raw(b, "\\r", 2); i++; continue;
        case '\t': lj_buf_raw(b, "\\t", 2); i++; continue;
        case '\b': lj_buf_raw(b, "\\b", 2); i++; continue;
        case '\f': lj_buf_raw(b, "\\f", 2); i++; continue;
        default: break;
        }
        if (c < 0x80) { /* other controls and DEL */
            put_u(b, c);
            i++;
            continue;
        }
        /* Generalised UTF-8 (a lone surrogate from a \u escape is 3 bytes): decode leniently. */
        uint32_t cp;
        size_t need;
        if (c >= 0xF0) {
            cp = c & 0x07;
            need = 3;
        } else if (c >= 0xE0) {
            cp = c & 0x0F;
            need = 2;
        } else {
            cp = c & 0x1F;
            need = 1;
        }
        if (i + need >= len) {
            put_u(b, 0xFFFD);
            break;
        }
        for (size_t k = 1; k <= need; k++)
            cp = (cp << 6) | (s[i + k] & 0x3F);
        i += need + 1;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            put_u(b, 0xD800 + (cp >> 10));
            put_u(b, 0xDC00 + (cp & 0x3FF));
        } else {
            put_u(b, cp);
        }
    }
    lj_buf_raw(b, "\"", 1);
}

void lj_buf_uint(lj_buf *b, uint64_t value)
{
    char tmp[24];
    size_t n = sizeof tmp;
    do {
        tmp[--n] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    lj_buf_raw(b, tmp + n, sizeof tmp - n);
}

void lj_buf_free(lj_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
