/* The library's private structures: a keyring indexed by key ID, a sorted revocation list. */
#ifndef LV_INTERNAL_H
#define LV_INTERNAL_H

#include "license_validator.h"

typedef struct {
    int present;
    license_key_status status;
    uint8_t public_key[32];
} lv_key;

typedef struct {
    char *name; /* UTF-8, NUL-terminated (it may also hold a NUL) */
    size_t name_len;
    unsigned number;
} lv_product;

struct license_keyring {
    lv_key keys[256]; /* by key_id; 0 is never present */
    size_t key_count;
    lv_product *products; /* in document order */
    size_t product_count;
};

struct license_revocations {
    unsigned key_id;
    uint64_t sequence;
    int64_t issue_time;
    uint8_t signature[64];
    uint64_t *serials; /* ascending, unique */
    size_t count;
};

/* Reading steps 0-4 (section 2.2) for a key of any version: its bytes (at most
 * LV_MAX_KEY_BYTES) in bytes[0..*count). LICENSE_OK or LICENSE_MALFORMED. */
#define LV_MAX_KEY_BYTES 640
license_reason lv_read_key_bytes(const char *text, size_t len, uint8_t *bytes, size_t *count);

#endif
