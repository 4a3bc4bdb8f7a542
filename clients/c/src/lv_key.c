/* The key's text and bytes (docs/key-format.md sections 1 and 2), Ed25519 (section 1.2) and
 * the date helpers. */
#include "license_validator.h"
#include "lv_internal.h"
#include "lv_json.h"

#include <sodium.h>
#include <string.h>

#define MAX_TEXT_INPUT 1024 /* characters; longer input is refused before any work */

uint16_t license_crc16(const uint8_t *data, size_t len)
{
    uint16_t crc = 0xFFFF;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint16_t)(data[i] << 8);
        for (int bit = 0; bit < 8; bit++)
            crc = (uint16_t)((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    return crc;
}

/* Digit value of an ASCII character: 0..31, -1 for a separator, -2 for anything else. */
static int digit_of(int32_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        c -= 'a' - 'A';
    switch (c) {
    case 'O': return 0;
    case 'I': case 'L': return 1;
    case 'U': return -2;
    default: break;
    }
    if (c >= 'A' && c <= 'Z') {
        static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        return (int)(strchr(alphabet, (int)c) - alphabet);
    }
    return -2;
}

static int is_separator(int32_t c)
{
    switch (c) {
    case 0x20: case 0x09: case 0x0A: case 0x0D: case 0x0C: case 0x0B: case 0x2D: case 0xA0:
    case 0x2010: case 0x2011: case 0x2012: case 0x2013: case 0x2014: case 0x2015: case 0x2212:
    case 0x202F: case 0x2007: case 0x3000:
        return 1;
    default:
        return 0;
    }
}

/* Reading steps 0-4 of section 2.2, for any version: the b bytes the text encodes. */
license_reason lv_read_key_bytes(const char *text, size_t len, uint8_t *bytes, size_t *count)
{
    const unsigned char *s = (const unsigned char *)text;
    uint8_t digits[MAX_TEXT_INPUT];
    size_t n = 0, chars = 0, pos = 0;
    while (pos < len) {
        if (++chars > MAX_TEXT_INPUT)
            return LICENSE_MALFORMED;
        int32_t c = lv_utf8_next(s, len, &pos);
        if (c < 0)
            return LICENSE_MALFORMED;
        if (is_separator(c))
            continue;
        int d = c < 0x80 ? digit_of(c) : -2;
        if (d < 0)
            return LICENSE_MALFORMED;
        digits[n++] = (uint8_t)d;
    }
    size_t b = 5 * n / 8, pad = 5 * n - 8 * b;
    if (b < 3 || pad > 4)
        return LICENSE_MALFORMED;
    /* The digits as one bit string, most significant first: the first 8b bits are the bytes,
     * the last `pad` bits must be zero. */
    memset(bytes, 0, b);
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 5) | digits[i];
        bits += 5;
        if (bits >= 8 && out < b) {
            bits -= 8;
            bytes[out++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) /* the pad bits, all that is left */
        return LICENSE_MALFORMED;
    /* The CRC run over the data and its own big-endian CRC gives 0. */
    if (license_crc16(bytes, b) != 0)
        return LICENSE_MALFORMED;
    *count = b;
    return LICENSE_OK;
}

license_reason license_decode_key(const char *text, size_t len, uint8_t out[LICENSE_KEY_BYTES])
{
    uint8_t bytes[MAX_TEXT_INPUT * 5 / 8 + 1];
    size_t count = 0;
    license_reason r = lv_read_key_bytes(text, len, bytes, &count);
    if (r != LICENSE_OK)
        return r;
    if (bytes[0] != 1) /* 5: before the exact length, so a longer later key is not a typo */
        return LICENSE_UNSUPPORTED_VERSION;
    if (count != LICENSE_KEY_BYTES)
        return LICENSE_MALFORMED;
    memcpy(out, bytes, LICENSE_KEY_BYTES);
    return LICENSE_OK;
}

int license_ed25519_verify(const uint8_t public_key[32], const uint8_t signature[64], const uint8_t *message,
                           size_t len)
{
    /* libsodium's verifier is the reference (section 1.2). sodium_init is idempotent and only
     * picks CPU-specific code paths; verification is correct either way. */
    if (sodium_init() < 0)
        return 0;
    return crypto_sign_verify_detached(signature, message, len, public_key) == 0;
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm), then moved to 2000. */
int32_t license_days_from_civil(int year, unsigned month, unsigned day)
{
    int y = year - (month <= 2);
    int era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + (int)doe - 719468 - 10957);
}

void license_format_day(unsigned day, char out[11])
{
    if (day == 0) {
        out[0] = '\0';
        return;
    }
    long z = (long)day + 10957 + 719468;
    long era = z / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long y = (long)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    out[0] = (char)('0' + y / 1000 % 10);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = '\0';
}
