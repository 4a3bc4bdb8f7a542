/*
 * license_validator.h: the offline license-key validator for C and anything that calls C.
 *
 * It reads the keys the licensing service issues (docs/key-format.md, format version 1) and
 * checks them with the vendor's public keyring only. It does no I/O of any kind (no files, no
 * network, no clock: the current time is an argument), keeps no global state, and is safe to
 * call from several threads at once on shared, already-parsed keyrings and revocation lists.
 *
 * Typical use:
 *
 *     license_keyring *kr = NULL;
 *     if (license_keyring_parse(json, json_len, &kr) != LICENSE_DOC_OK) { ...bad build... }
 *     license_info lic;
 *     license_reason r = license_validate(key, email, 1, kr, (int64_t)time(NULL), 0, NULL, &lic);
 *     if (r == LICENSE_OK) { ...lic.expires, lic.seats... }
 *     else printf("%s\n", license_reason_name(r));
 *     license_keyring_free(kr);
 *
 * Strings are UTF-8. Functions taking (pointer, length) accept any bytes, NUL included;
 * the convenience forms without a length take NUL-terminated strings.
 */
#ifndef LICENSE_VALIDATOR_H
#define LICENSE_VALIDATOR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(LICENSE_VALIDATOR_SHARED)
#  ifdef LICENSE_VALIDATOR_BUILDING
#    define LICENSE_API __declspec(dllexport)
#  else
#    define LICENSE_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__)
#  define LICENSE_API __attribute__((visibility("default")))
#else
#  define LICENSE_API
#endif

/* Why a key is refused (docs/key-format.md, "Reason codes"). The names are the stable codes the
 * server's online ValidateKey uses; the numbers are this library's ABI and append-only too. */
typedef enum license_reason {
    LICENSE_OK = 0,
    LICENSE_MALFORMED = 1,           /* a typo, a missing or extra character, a truncated paste */
    LICENSE_UNSUPPORTED_VERSION = 2, /* a well-formed key of a later format version */
    LICENSE_UNKNOWN_KEY = 3,         /* signed by a key ID absent from the keyring */
    LICENSE_KEY_RETIRED = 4,         /* signed by a key the vendor has retired */
    LICENSE_BAD_SIGNATURE = 5,       /* well formed but forged or altered */
    LICENSE_WRONG_PRODUCT = 6,       /* a genuine key for another product */
    LICENSE_EMAIL_MISMATCH = 7,      /* a genuine key for another email address */
    LICENSE_INVALID_EMAIL = 8,       /* the email given is not an email address */
    LICENSE_NOT_YET_VALID = 9,       /* issued after today (UTC): the clock is behind */
    LICENSE_EXPIRED = 10,            /* past its last valid day */
    LICENSE_UPDATES_EXPIRED = 11,    /* this build is newer than the updates period */
    LICENSE_REVOKED = 12             /* listed in the vendor's signed revocation list */
} license_reason;

/* "OK", "MALFORMED", ... : the code as text; "UNKNOWN_REASON" for a number outside the enum. */
LICENSE_API const char *license_reason_name(license_reason reason);
/* One sentence for the user ("check the key for typing mistakes"); never mentions the key. */
LICENSE_API const char *license_reason_message(license_reason reason);

/* Why a keyring or revocation list document is refused (as a whole). */
typedef enum license_doc_status {
    LICENSE_DOC_OK = 0,
    LICENSE_DOC_NOT_JSON = 1,       /* not UTF-8 JSON, or its top level is not an object */
    LICENSE_DOC_WRONG_FORMAT = 2,   /* "format" is missing or not the expected string */
    LICENSE_DOC_INVALID = 3,        /* a required member is missing, of the wrong type or out of range */
    LICENSE_DOC_DUPLICATE_KEY = 4,  /* a keyring names one key_id twice */
    LICENSE_DOC_UNKNOWN_KEY = 5,    /* revocations: signed by a key ID absent from the keyring */
    LICENSE_DOC_KEY_RETIRED = 6,    /* revocations: signed by a retired key */
    LICENSE_DOC_BAD_SIGNATURE = 7,  /* revocations: the signature does not verify */
    LICENSE_DOC_NO_MEMORY = 8
} license_doc_status;

/* One line saying what is wrong with the document ("the keyring is not a JSON document"). */
LICENSE_API const char *license_doc_status_message(license_doc_status status);

/* ---- The public keyring (docs/key-format.md, section 5) ---- */

typedef struct license_keyring license_keyring;

typedef enum license_key_status {
    LICENSE_KEY_ACTIVE = 0,
    LICENSE_KEY_VERIFY_ONLY = 1,
    LICENSE_KEY_RETIRED_STATUS = 2
} license_key_status;

/* Parse a keyring document. On success *out owns a new keyring (free it with
 * license_keyring_free); on failure *out is NULL. */
LICENSE_API license_doc_status license_keyring_parse(const char *json, size_t len, license_keyring **out);
LICENSE_API void license_keyring_free(license_keyring *keyring);

/* The keys, in ascending key_id order. */
LICENSE_API size_t license_keyring_key_count(const license_keyring *keyring);
LICENSE_API int license_keyring_key_at(const license_keyring *keyring, size_t index, unsigned *key_id,
                                       uint8_t public_key[32], license_key_status *status);
/* "active", "verify-only" or "retired". */
LICENSE_API const char *license_key_status_name(license_key_status status);

/* The product codes, in the order of the document (first appearance of each code). The name is
 * UTF-8 of name_len bytes (it may hold a NUL), owned by the keyring. */
LICENSE_API size_t license_keyring_product_count(const license_keyring *keyring);
LICENSE_API int license_keyring_product_at(const license_keyring *keyring, size_t index, const char **name,
                                           size_t *name_len, unsigned *number);
/* The product number of a code named in the keyring: 1 found, 0 not named. */
LICENSE_API int license_keyring_product_number(const license_keyring *keyring, const char *name,
                                               size_t name_len, unsigned *number);

/* ---- Signed revocation lists (docs/key-format.md, section 6) ---- */

typedef struct license_revocations license_revocations;

/* Parse and verify a revocation list with the keyring. On success *out owns a new list (free it
 * with license_revocations_free); on any failure *out is NULL: a refused list is never empty. */
LICENSE_API license_doc_status license_revocations_parse(const char *json, size_t len,
                                                         const license_keyring *keyring,
                                                         license_revocations **out);
LICENSE_API void license_revocations_free(license_revocations *list);
LICENSE_API unsigned license_revocations_key_id(const license_revocations *list);
/* Keep the highest sequence accepted and refuse a lower one, so an old list cannot un-revoke. */
LICENSE_API uint64_t license_revocations_sequence(const license_revocations *list);
LICENSE_API int64_t license_revocations_issue_time(const license_revocations *list); /* Unix seconds */
/* The serials, ascending and unique. */
LICENSE_API size_t license_revocations_count(const license_revocations *list);
LICENSE_API uint64_t license_revocations_serial_at(const license_revocations *list, size_t index);
/* The list's signature, to store the list again (section 6: keep the newest list accepted). */
LICENSE_API void license_revocations_signature(const license_revocations *list, uint8_t signature[64]);
LICENSE_API int license_revocations_contains(const license_revocations *list, uint64_t serial);

/* ---- Validation (docs/key-format.md, section 4) ---- */

/* The license terms. Dates are days since 2000-01-01 (UTC); 0 means none (no expiry, no limit). */
typedef struct license_info {
    unsigned key_id;
    unsigned product;
    uint64_t serial;        /* 48 bits; people see it as 12 upper-case hex digits */
    unsigned issued;
    unsigned expires;       /* last valid day; 0 = perpetual */
    unsigned updates_until; /* last build date covered; 0 = no limit */
    unsigned seats;
    unsigned edition;
    unsigned flags;
} license_info;

/* Check (key, email) for `product` at `now_unix` (seconds since 1970-01-01T00:00:00Z).
 * build_day is the program's own build date in days since 2000-01-01, or 0 to skip the
 * updates check. revocations may be NULL. On LICENSE_OK *out holds the terms; on any other
 * result *out is zeroed (a failure carries no terms). */
LICENSE_API license_reason license_validate(const char *key, const char *email, int64_t product,
                                            const license_keyring *keyring, int64_t now_unix,
                                            int32_t build_day, const license_revocations *revocations,
                                            license_info *out);
LICENSE_API license_reason license_validate_n(const char *key, size_t key_len, const char *email,
                                              size_t email_len, int64_t product,
                                              const license_keyring *keyring, int64_t now_unix,
                                              int32_t build_day, const license_revocations *revocations,
                                              license_info *out);

/* ---- Building blocks, each usable alone ---- */

/* The normal form of an email address (section 3), NUL-terminated UTF-8 in out (at most
 * LICENSE_EMAIL_MAX_BYTES bytes with the NUL), and its 32-byte digest when digest is not NULL.
 * Returns LICENSE_OK or LICENSE_INVALID_EMAIL. */
#define LICENSE_EMAIL_MAX_BYTES 1024
LICENSE_API license_reason license_normalize_email(const char *email, size_t len,
                                                   char out[LICENSE_EMAIL_MAX_BYTES],
                                                   uint8_t digest[32]);

/* Read a key's text (section 2.2) into its 89 bytes. Returns LICENSE_OK, LICENSE_MALFORMED or
 * LICENSE_UNSUPPORTED_VERSION. */
#define LICENSE_KEY_BYTES 89
LICENSE_API license_reason license_decode_key(const char *text, size_t len, uint8_t out[LICENSE_KEY_BYTES]);

/* CRC-16/CCITT-FALSE (section 1.3). */
LICENSE_API uint16_t license_crc16(const uint8_t *data, size_t len);

/* Raw Ed25519 verification under the rules of section 1.2: 1 valid, 0 not. */
LICENSE_API int license_ed25519_verify(const uint8_t public_key[32], const uint8_t signature[64],
                                       const uint8_t *message, size_t len);

/* A day count (days since 2000-01-01) as "YYYY-MM-DD" in out; day 0 gives "". */
LICENSE_API void license_format_day(unsigned day, char out[11]);
/* A calendar date as days since 2000-01-01 (negative before it). */
LICENSE_API int32_t license_days_from_civil(int year, unsigned month, unsigned day);

#ifdef __cplusplus
}
#endif

#endif /* LICENSE_VALIDATOR_H */
