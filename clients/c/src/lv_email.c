/* The email normal form and digest (docs/key-format.md section 3), on Unicode 3.2 data only:
 * RFC 3454 tables, Nameprep and IDNA 2003 ToASCII from GNU libidn, which carries its own
 * Unicode 3.2 tables and never consults the host's. */
#include "license_validator.h"
#include "lv_json.h"

#include <idna.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <stringprep.h>

#define MAX_INPUT_CHARS 1016 /* 4 x 254 */
#define MAX_LOCAL_CHARS 64
#define MAX_ADDRESS_CHARS 254
#define MAX_LABEL 63

static const char EMAIL_CONTEXT[] = "licensing.v1/email"; /* and its NUL: 19 bytes */

static int is_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

/* In a libidn RFC 3454 table: ranges (start, end) or single code points (end 0), 0-terminated. */
static int in_table(const Stringprep_table_element *table, uint32_t c)
{
    for (const Stringprep_table_element *e = table; e->start || e->end; e++)
        if (c == e->start || (e->end && c >= e->start && c <= e->end))
            return 1;
    return 0;
}

/* Step 4: unassigned in Unicode 3.2 (table A.1), or one of the six code points whose
 * decomposition Unicode corrected after 3.2. */
static int refused_code_point(uint32_t c)
{
    if (c < 0x80)
        return 0;
    switch (c) {
    case 0xF951: case 0x2F868: case 0x2F874: case 0x2F91F: case 0x2F95F: case 0x2F9BF:
        return 1;
    default:
        return in_table(stringprep_rfc3454_A_1, c);
    }
}

static int is_dot(uint32_t c) { return c == 0x2E || c == 0x3002 || c == 0xFF0E || c == 0xFF61; }

static size_t put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static size_t table_size(const Stringprep_table_element *table)
{
    size_t n = 0;
    while (table[n].start || table[n].end)
        n++;
    return n;
}

/* Step 5: the local part, in place in `local` (room for `cap` code points). -1 when invalid. */
static int normalize_local(uint32_t *local, size_t *len, size_t cap)
{
    int ascii = 1;
    for (size_t i = 0; i < *len; i++)
        if (local[i] >= 0x80)
            ascii = 0;
    if (ascii) {
        for (size_t i = 0; i < *len; i++)
            if (local[i] >= 'A' && local[i] <= 'Z')
                local[i] += 'a' - 'A';
    } else {
        /* Nameprep's mapping (B.1, B.2), NFKC and prohibition (C.1.2, C.2.2, C.3-C.9) steps, and
         * not its bidirectional check. libidn's STRINGPREP_NO_BIDI flag does not do that: in
         * its nameprep profile it only skips the C.8 test of the bidi step, which still refuses
         * a right-to-left label ending in digits. So this is libidn's nameprep profile without
         * its four bidi entries, built here (libidn searches each table by its size, which it
         * does not export). The A.1 entry makes libidn refuse unassigned code points too
         * (STRINGPREP_NO_UNASSIGNED means "refuse unassigned"), which step 4 has already done. */
        const Stringprep_table_element *prohibited[] = {
            stringprep_rfc3454_C_1_2, stringprep_rfc3454_C_2_2, stringprep_rfc3454_C_3,
            stringprep_rfc3454_C_4,   stringprep_rfc3454_C_5,   stringprep_rfc3454_C_6,
            stringprep_rfc3454_C_7,   stringprep_rfc3454_C_8,   stringprep_rfc3454_C_9};
        Stringprep_profile profile[15];
        size_t k = 0;
        memset(profile, 0, sizeof profile);
        profile[k].operation = STRINGPREP_MAP_TABLE;
        profile[k].table = stringprep_rfc3454_B_1;
        profile[k++].table_size = table_size(stringprep_rfc3454_B_1);
        profile[k].operation = STRINGPREP_MAP_TABLE;
        profile[k].table = stringprep_rfc3454_B_2;
        profile[k++].table_size = table_size(stringprep_rfc3454_B_2);
        profile[k++].operation = STRINGPREP_NFKC;
        for (size_t t = 0; t < sizeof prohibited / sizeof prohibited[0]; t++) {
            profile[k].operation = STRINGPREP_PROHIBIT_TABLE;
            profile[k].table = prohibited[t];
            profile[k++].table_size = table_size(prohibited[t]);
        }
        profile[k].operation = STRINGPREP_UNASSIGNED_TABLE;
        profile[k].flags = (Stringprep_profile_flags)~STRINGPREP_NO_UNASSIGNED;
        profile[k].table = stringprep_rfc3454_A_1;
        profile[k++].table_size = table_size(stringprep_rfc3454_A_1);
        if (stringprep_4i(local, len, cap, STRINGPREP_NO_UNASSIGNED, profile) != STRINGPREP_OK)
            return -1;
    }
    if (*len > MAX_LOCAL_CHARS)
        return -1;
    for (size_t i = 0; i < *len; i++) {
        uint32_t c = local[i];
        if (c < 0x20 || c == 0x7F || (c < 0x80 && strchr(" \"(),:;<>@[\\]", (int)c)))
            return -1;
    }
    return 0;
}

/* Step 7 for one label of the ASCII domain: 1 to 63 of a-z 0-9 -, no hyphen at either end. */
static int ldh_label(const char *label, size_t len)
{
    if (len < 1 || len > MAX_LABEL || label[0] == '-' || label[len - 1] == '-')
        return 0;
    for (size_t k = 0; k < len; k++) {
        char c = label[k];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return 0;
    }
    return 1;
}

/* Steps 6 and 7: the domain to ASCII, written to out (NUL-terminated, at most cap bytes), label
 * by label; each label is checked as it was converted (a label Nameprep turns into "a.b" is one
 * bad label, not two good ones). Returns its length, or -1 when invalid. */
static int domain_to_ascii(uint32_t *domain, size_t len, char *out, size_t cap)
{
    size_t n = 0, labels = 0, start = 0;
    for (size_t i = 0; i < len; i++)
        if (domain[i] >= 'A' && domain[i] <= 'Z')
            domain[i] += 'a' - 'A';
    for (size_t i = 0; i <= len; i++) {
        if (i < len && !is_dot(domain[i]))
            continue;
        const uint32_t *label = domain + start;
        size_t label_len = i - start;
        int ascii = 1;
        for (size_t k = 0; k < label_len; k++)
            if (label[k] >= 0x80)
                ascii = 0;
        if (labels > 0) {
            if (n + 1 >= cap)
                return -1;
            out[n++] = '.';
        }
        char *written = out + n;
        size_t written_len;
        if (ascii) {
            if (label_len > MAX_LABEL || n + label_len + 1 > cap)
                return -1;
            for (size_t k = 0; k < label_len; k++)
                written[k] = (char)label[k];
            written_len = label_len;
        } else {
            /* IDNA 2003 ToASCII, flags 0: AllowUnassigned and UseSTD3ASCIIRules off. */
            char ace[MAX_LABEL + 1 + 16];
            if (idna_to_ascii_4i(label, label_len, ace, 0) != IDNA_SUCCESS)
                return -1;
            written_len = strlen(ace);
            if (written_len > MAX_LABEL || n + written_len + 1 > cap)
                return -1;
            memcpy(written, ace, written_len);
        }
        if (!ldh_label(written, written_len))
            return -1;
        n += written_len;
        labels++;
        start = i + 1;
    }
    out[n] = '\0';
    return labels >= 2 ? (int)n : -1;
}

license_reason license_normalize_email(const char *email, size_t len, char out[LICENSE_EMAIL_MAX_BYTES],
                                       uint8_t digest[32])
{
    const unsigned char *s = (const unsigned char *)email;
    uint32_t chars[MAX_INPUT_CHARS];
    size_t n = 0, pos = 0;
    license_reason result = LICENSE_INVALID_EMAIL;
    uint32_t *local = NULL;
    out[0] = '\0';
    /* 1. size, in characters (and the text must be UTF-8) */
    while (pos < len) {
        if (n == MAX_INPUT_CHARS)
            return LICENSE_INVALID_EMAIL;
        int32_t c = lv_utf8_next(s, len, &pos);
        if (c < 0)
            return LICENSE_INVALID_EMAIL;
        chars[n++] = (uint32_t)c;
    }
    /* 2. trim */
    size_t first = 0, last = n;
    while (first < last && is_space(chars[first]))
        first++;
    while (last > first && is_space(chars[last - 1]))
        last--;
    /* 3. split at the last @ */
    size_t at = last;
    for (size_t i = last; i-- > first;)
        if (chars[i] == '@') {
            at = i;
            break;
        }
    if (at == last || at == first || at + 1 == last)
        return LICENSE_INVALID_EMAIL;
    /* 4. unassigned and corrected code points, in either part. And U+0000 here, before libidn
     * sees it: libidn's NFKC ends its strings at a 0 code point, so "a\0b" would come back as
     * "a". Refusing it is what the rules say anyway: NUL survives Nameprep and ToASCII, and then
     * fails the local part's control check or the domain's letters-digits-hyphen rule. */
    for (size_t i = first; i < last; i++)
        if (chars[i] == 0 || refused_code_point(chars[i]))
            return LICENSE_INVALID_EMAIL;
    /* 5. local part: Nameprep may grow it (B.2 and NFKC expand), so it gets room of its own */
    size_t local_len = at - first;
    size_t cap = local_len * 18 + 16;
    local = malloc(cap * sizeof *local);
    if (!local)
        return LICENSE_INVALID_EMAIL;
    memcpy(local, chars + first, local_len * sizeof *local);
    if (normalize_local(local, &local_len, cap) != 0)
        goto done;
    /* 6-7. domain */
    char domain[LICENSE_EMAIL_MAX_BYTES];
    int domain_len = domain_to_ascii(chars + at + 1, last - at - 1, domain, sizeof domain);
    if (domain_len < 0)
        goto done;
    /* 8. address, at most 254 characters */
    if (local_len + 1 + (size_t)domain_len > MAX_ADDRESS_CHARS)
        goto done;
    size_t o = 0;
    for (size_t i = 0; i < local_len; i++)
        o += put_utf8(out + o, local[i]); /* 64 characters of at most 4 bytes: room enough */
    out[o++] = '@';
    memcpy(out + o, domain, (size_t)domain_len);
    o += (size_t)domain_len;
    out[o] = '\0';
    if (digest) {
        crypto_hash_sha256_state st;
        crypto_hash_sha256_init(&st);
        crypto_hash_sha256_update(&st, (const unsigned char *)EMAIL_CONTEXT, sizeof EMAIL_CONTEXT);
        crypto_hash_sha256_update(&st, (const unsigned char *)out, o);
        crypto_hash_sha256_final(&st, digest);
    }
    result = LICENSE_OK;
done:
    free(local);
    if (result != LICENSE_OK)
        out[0] = '\0';
    return result;
}
