/* The offline check of (email, key), in the order of docs/key-format.md section 4: the
 * signature is checked before any field of the payload is believed. */
#include "license_validator.h"
#include "lv_internal.h"

#include <sodium.h>
#include <string.h>

#define PAYLOAD_BYTES 23
#define SIGNATURE_BYTES 64
#define DAYS_1970_TO_2000 10957

static const char KEY_CONTEXT[] = "licensing.v1/key"; /* and its NUL: 17 bytes */

const char *license_reason_name(license_reason reason)
{
    switch (reason) {
    case LICENSE_OK: return "OK";
    case LICENSE_MALFORMED: return "MALFORMED";
    case LICENSE_UNSUPPORTED_VERSION: return "UNSUPPORTED_VERSION";
    case LICENSE_UNKNOWN_KEY: return "UNKNOWN_KEY";
    case LICENSE_KEY_RETIRED: return "KEY_RETIRED";
    case LICENSE_BAD_SIGNATURE: return "BAD_SIGNATURE";
    case LICENSE_WRONG_PRODUCT: return "WRONG_PRODUCT";
    case LICENSE_EMAIL_MISMATCH: return "EMAIL_MISMATCH";
    case LICENSE_INVALID_EMAIL: return "INVALID_EMAIL";
    case LICENSE_NOT_YET_VALID: return "NOT_YET_VALID";
    case LICENSE_EXPIRED: return "EXPIRED";
    case LICENSE_UPDATES_EXPIRED: return "UPDATES_EXPIRED";
    case LICENSE_REVOKED: return "REVOKED";
    default: return "UNKNOWN_REASON";
    }
}

const char *license_reason_message(license_reason reason)
{
    switch (reason) {
    case LICENSE_OK: return "the license is valid";
    case LICENSE_MALFORMED: return "check the key for typing mistakes";
    case LICENSE_UNSUPPORTED_VERSION: return "the key is in a newer format: update the program";
    case LICENSE_UNKNOWN_KEY: return "the key was signed by a key this program does not know: update the program";
    case LICENSE_KEY_RETIRED: return "the key's signing key was retired by the vendor: contact the vendor for a new key";
    case LICENSE_BAD_SIGNATURE: return "the key is not genuine: its signature does not check out";
    case LICENSE_WRONG_PRODUCT: return "this key is for another product";
    case LICENSE_EMAIL_MISMATCH: return "enter the email address the key was sent to";
    case LICENSE_INVALID_EMAIL: return "check the email address";
    case LICENSE_NOT_YET_VALID: return "the key is not valid yet: check the computer's date";
    case LICENSE_EXPIRED: return "the license has expired: renew the license";
    case LICENSE_UPDATES_EXPIRED: return "this version is newer than the license's updates period";
    case LICENSE_REVOKED: return "the license has been revoked: contact the vendor";
    default: return "unknown reason";
    }
}

static unsigned be16(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }

static license_reason check(const char *key, size_t key_len, const char *email, size_t email_len, int64_t product,
                            const license_keyring *kr, int64_t now_unix, int32_t build_day,
                            const license_revocations *rl, license_info *out)
{
    uint8_t raw[LICENSE_KEY_BYTES];
    license_reason r = license_decode_key(key, key_len, raw); /* 1 */
    if (r != LICENSE_OK)
        return r;
    const lv_key *signer = &kr->keys[raw[1]];
    if (!signer->present) /* 2 */
        return LICENSE_UNKNOWN_KEY;
    if (signer->status == LICENSE_KEY_RETIRED_STATUS) /* 3 */
        return LICENSE_KEY_RETIRED;
    char normal[LICENSE_EMAIL_MAX_BYTES];
    uint8_t message[sizeof KEY_CONTEXT + PAYLOAD_BYTES + 32];
    if (license_normalize_email(email, email_len, normal, message + sizeof KEY_CONTEXT + PAYLOAD_BYTES) !=
        LICENSE_OK) /* 4 */
        return LICENSE_INVALID_EMAIL;
    const uint8_t *digest = message + sizeof KEY_CONTEXT + PAYLOAD_BYTES;
    memcpy(message, KEY_CONTEXT, sizeof KEY_CONTEXT);
    memcpy(message + sizeof KEY_CONTEXT, raw, PAYLOAD_BYTES);
    if (crypto_sign_verify_detached(raw + PAYLOAD_BYTES, message, sizeof message, signer->public_key) != 0) /* 5 */
        return (raw[10] != digest[0] || raw[11] != digest[1]) ? LICENSE_EMAIL_MISMATCH : LICENSE_BAD_SIGNATURE;
    license_info lic;
    lic.key_id = raw[1];
    lic.product = be16(raw + 2);
    lic.serial = 0;
    for (int i = 4; i < 10; i++)
        lic.serial = lic.serial << 8 | raw[i];
    lic.issued = be16(raw + 12);
    lic.expires = be16(raw + 14);
    lic.updates_until = be16(raw + 16);
    lic.seats = be16(raw + 18);
    lic.edition = raw[20];
    lic.flags = be16(raw + 21);
    if (lic.issued == 0) /* 6 */
        return LICENSE_MALFORMED;
    if ((int64_t)lic.product != product) /* 7 */
        return LICENSE_WRONG_PRODUCT;
    if (rl && license_revocations_contains(rl, lic.serial)) /* 8 */
        return LICENSE_REVOKED;
    /* today: the calendar day of now in UTC (floor division, so instants before 1970 work too) */
    int64_t days = now_unix / 86400 - (now_unix % 86400 < 0);
    int64_t today = days - DAYS_1970_TO_2000;
    if (today < (int64_t)lic.issued) /* 9 */
        return LICENSE_NOT_YET_VALID;
    if (lic.expires != 0 && today > (int64_t)lic.expires) /* 10 */
        return LICENSE_EXPIRED;
    if (build_day != 0 && lic.updates_until != 0 && build_day > (int32_t)lic.updates_until) /* 11 */
        return LICENSE_UPDATES_EXPIRED;
    *out = lic;
    return LICENSE_OK;
}

license_reason license_validate_n(const char *key, size_t key_len, const char *email, size_t email_len,
                                  int64_t product, const license_keyring *keyring, int64_t now_unix,
                                  int32_t build_day, const license_revocations *revocations, license_info *out)
{
    license_info scratch;
    if (!out)
        out = &scratch;
    memset(out, 0, sizeof *out);
    static const license_keyring empty; /* no keyring: every key ID is unknown */
    if (!keyring)
        keyring = &empty;
    if (!key)
        return LICENSE_MALFORMED;
    if (!email)
        email_len = 0; /* an empty email is invalid, once the key has been read */
    return check(key, key_len, email ? email : "", email_len, product, keyring, now_unix, build_day, revocations, out);
}

license_reason license_validate(const char *key, const char *email, int64_t product, const license_keyring *keyring,
                                int64_t now_unix, int32_t build_day, const license_revocations *revocations,
                                license_info *out)
{
    return license_validate_n(key, key ? strlen(key) : 0, email, email ? strlen(email) : 0, product, keyring,
                              now_unix, build_day, revocations, out);
}
