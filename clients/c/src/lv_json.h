/* A small strict JSON reader (RFC 8259) with the rules of docs/key-format.md section 5:
 * UTF-8 only, one leading BOM skipped, duplicate member names kept (lookups take the last),
 * numbers kept as text and read by value. Internal to the library and its tools. */
#ifndef LV_JSON_H
#define LV_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef enum { LJ_NULL, LJ_FALSE, LJ_TRUE, LJ_NUMBER, LJ_STRING, LJ_ARRAY, LJ_OBJECT } lj_type;

typedef struct lj_value {
    lj_type type;
    char *text;     /* LJ_STRING: the decoded bytes (UTF-8; a lone \uD800 escape as 3 bytes), NUL-terminated;
                       LJ_NUMBER: the number as written */
    size_t len;
    size_t count;   /* LJ_ARRAY, LJ_OBJECT: number of items or members (duplicates included) */
    struct lj_value *items;
    struct lj_value *names; /* LJ_OBJECT: names[i] (an LJ_STRING) names items[i] */
} lj_value;

/* Parse a whole document; NULL when it is not one JSON value (or memory ran out). */
lj_value *lj_parse(const char *text, size_t len);
void lj_free(lj_value *value);

/* The last member called `name` of an object, or NULL. */
const lj_value *lj_get(const lj_value *object, const char *name);
/* A number whose value is a whole number in 0..max (max <= 2^53 - 1): 1 and *out, else 0. */
int lj_whole(const lj_value *value, uint64_t max, uint64_t *out);
/* A string equal to `expected` (NUL-terminated): 1, else 0. */
int lj_is_string(const lj_value *value, const char *expected);

/* Writing, as Python's json.dumps(obj, separators=(",", ":")) does (ensure_ascii). */
typedef struct lj_buf {
    char *data;
    size_t len, cap;
    int failed;
} lj_buf;
void lj_buf_raw(lj_buf *buf, const char *text, size_t len);
void lj_buf_str(lj_buf *buf, const char *text); /* raw, NUL-terminated */
void lj_buf_string(lj_buf *buf, const char *utf8, size_t len); /* a quoted, escaped JSON string */
void lj_buf_uint(lj_buf *buf, uint64_t value);
void lj_buf_free(lj_buf *buf);

/* UTF-8 decoding shared by the key reader and the email rules: the code point at *pos, which
 * advances; -1 for bytes that are not UTF-8 (surrogates and overlong forms included). */
int32_t lv_utf8_next(const unsigned char *text, size_t len, size_t *pos);

#endif
