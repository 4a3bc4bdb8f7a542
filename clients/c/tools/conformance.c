/* The conformance runner (tests/vectors/README.md): one JSON object per input line on stdin,
 * one compact JSON line per input line on stdout, in order, flushed after each line, written
 * byte for byte as Python's json.dumps(obj, separators=(",", ":")) would. */
#include "license_validator.h"
#include "lv_json.h"
#include "lv_tools.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const lj_value *string_member(const lj_value *req, const char *name)
{
    const lj_value *v = lj_get(req, name);
    return v && v->type == LJ_STRING ? v : NULL;
}

static void write_hex(lj_buf *out, const uint8_t *bytes, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    lj_buf_str(out, "\"");
    for (size_t i = 0; i < n; i++) {
        char pair[2] = {hex[bytes[i] >> 4], hex[bytes[i] & 15]};
        lj_buf_raw(out, pair, 2);
    }
    lj_buf_str(out, "\"");
}

static int read_hex(const lj_value *v, uint8_t *out, size_t *n, size_t cap)
{
    if (!v || v->len % 2 || v->len / 2 > cap)
        return -1;
    for (size_t i = 0; i < v->len; i++) {
        char c = v->text[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        if (i % 2 == 0)
            out[i / 2] = (uint8_t)(d << 4);
        else
            out[i / 2] |= (uint8_t)d;
    }
    *n = v->len / 2;
    return 0;
}

static void op_email(const lj_value *req, lj_buf *out)
{
    const lj_value *email = string_member(req, "email");
    char normal[LICENSE_EMAIL_MAX_BYTES];
    uint8_t digest[32];
    if (!email || license_normalize_email(email->text, email->len, normal, digest) != LICENSE_OK) {
        lj_buf_str(out, "{\"normalized\":null}");
        return;
    }
    lj_buf_str(out, "{\"normalized\":");
    lj_buf_string(out, normal, strlen(normal));
    lj_buf_str(out, ",\"digest\":");
    write_hex(out, digest, 32);
    lj_buf_str(out, "}");
}

static license_keyring *keyring_of(const lj_value *req)
{
    const lj_value *doc = string_member(req, "keyring");
    license_keyring *kr = NULL;
    if (doc)
        license_keyring_parse(doc->text, doc->len, &kr);
    return kr;
}

static int product_before(const license_keyring *kr, size_t a, size_t b)
{
    const char *na, *nb;
    size_t la, lb;
    license_keyring_product_at(kr, a, &na, &la, NULL);
    license_keyring_product_at(kr, b, &nb, &lb, NULL);
    int c = memcmp(na, nb, la < lb ? la : lb);
    return c < 0 || (c == 0 && la < lb);
}

static void op_keyring(const lj_value *req, lj_buf *out)
{
    license_keyring *kr = keyring_of(req);
    if (!kr) {
        lj_buf_str(out, "{\"ok\":false}");
        return;
    }
    lj_buf_str(out, "{\"ok\":true,\"keys\":[");
    for (size_t i = 0; i < license_keyring_key_count(kr); i++) {
        unsigned id;
        uint8_t pk[32];
        license_key_status status;
        license_keyring_key_at(kr, i, &id, pk, &status);
        lj_buf_str(out, i ? ",[" : "[");
        lj_buf_uint(out, id);
        lj_buf_str(out, ",");
        write_hex(out, pk, 32);
        lj_buf_str(out, ",\"");
        lj_buf_str(out, license_key_status_name(status));
        lj_buf_str(out, "\"]");
    }
    lj_buf_str(out, "],\"products\":{");
    /* sorted by code, as the reference prints them (UTF-8 byte order is code point order) */
    size_t count = license_keyring_product_count(kr);
    size_t *order = malloc((count ? count : 1) * sizeof *order);
    if (!order) {
        out->failed = 1;
        license_keyring_free(kr);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        order[i] = i;
        for (size_t k = i; k > 0 && product_before(kr, order[k], order[k - 1]); k--) {
            size_t t = order[k];
            order[k] = order[k - 1];
            order[k - 1] = t;
        }
    }
    for (size_t i = 0; i < count; i++) {
        const char *name;
        size_t name_len;
        unsigned number;
        license_keyring_product_at(kr, order[i], &name, &name_len, &number);
        if (i)
            lj_buf_str(out, ",");
        lj_buf_string(out, name, name_len);
        lj_buf_str(out, ":");
        lj_buf_uint(out, number);
    }
    lj_buf_str(out, "}}");
    free(order);
    license_keyring_free(kr);
}

static void op_revocations(const lj_value *req, lj_buf *out)
{
    license_keyring *kr = keyring_of(req);
    const lj_value *doc = string_member(req, "revocations");
    license_revocations *rl = NULL;
    if (kr && doc)
        license_revocations_parse(doc->text, doc->len, kr, &rl);
    if (!rl) {
        lj_buf_str(out, "{\"ok\":false}");
    } else {
        lj_buf_str(out, "{\"ok\":true,\"key_id\":");
        lj_buf_uint(out, license_revocations_key_id(rl));
        lj_buf_str(out, ",\"sequence\":");
        lj_buf_uint(out, license_revocations_sequence(rl));
        lj_buf_str(out, ",\"issue_time\":");
        lj_buf_uint(out, (uint64_t)license_revocations_issue_time(rl));
        lj_buf_str(out, ",\"serials\":[");
        for (size_t i = 0; i < license_revocations_count(rl); i++) {
            if (i)
                lj_buf_str(out, ",");
            lj_buf_uint(out, license_revocations_serial_at(rl, i));
        }
        lj_buf_str(out, "]}");
    }
    license_revocations_free(rl);
    license_keyring_free(kr);
}

static void op_validate(const lj_value *req, lj_buf *out)
{
    /* In the reference runner's order: the keyring, the revocation list, then the arguments. */
    license_keyring *kr = keyring_of(req);
    if (!kr) {
        lj_buf_str(out, "{\"error\":\"KEYRING\"}");
        return;
    }
    const lj_value *rl_doc = lj_get(req, "revocations");
    license_revocations *rl = NULL;
    if (rl_doc && rl_doc->type != LJ_NULL &&
        (rl_doc->type != LJ_STRING || license_revocations_parse(rl_doc->text, rl_doc->len, kr, &rl) != LICENSE_DOC_OK)) {
        lj_buf_str(out, "{\"error\":\"REVOCATIONS\"}");
        license_keyring_free(kr);
        return;
    }
    const lj_value *key = string_member(req, "key"), *email = string_member(req, "email");
    const lj_value *now_text = string_member(req, "now"), *build = lj_get(req, "build_date");
    int64_t now;
    int32_t build_day = 0;
    uint64_t product_value;
    int64_t product = lj_whole(lj_get(req, "product"), 9007199254740991ULL, &product_value) ? (int64_t)product_value : -1;
    if (!key || !email || !now_text || lv_parse_instant(now_text->text, now_text->len, &now) ||
        (build && build->type != LJ_NULL &&
         (build->type != LJ_STRING || lv_parse_date(build->text, build->len, &build_day)))) {
        lj_buf_str(out, "{\"error\":\"INPUT\"}");
    } else {
        /* A build date of 2000-01-01 or earlier is never after updates_until: no check needed. */
        if (build_day < 0)
            build_day = 0;
        license_info info;
        license_reason r =
            license_validate_n(key->text, key->len, email->text, email->len, product, kr, now, build_day, rl, &info);
        lv_write_result(out, r, &info);
    }
    license_revocations_free(rl);
    license_keyring_free(kr);
}

static void op_verify(const lj_value *req, lj_buf *out)
{
    uint8_t pk[32], sig[64];
    size_t pk_len = 0, sig_len = 0, msg_len = 0;
    const lj_value *msg = string_member(req, "message");
    uint8_t *message = msg ? malloc(msg->len / 2 + 1) : NULL;
    int ok = message && read_hex(string_member(req, "public_key"), pk, &pk_len, sizeof pk) == 0 && pk_len == 32 &&
             read_hex(string_member(req, "signature"), sig, &sig_len, sizeof sig) == 0 && sig_len == 64 &&
             read_hex(msg, message, &msg_len, msg->len / 2) == 0 && license_ed25519_verify(pk, sig, message, msg_len);
    free(message);
    lj_buf_str(out, ok ? "{\"ok\":true}" : "{\"ok\":false}");
}

static void op_decode(const lj_value *req, lj_buf *out)
{
    const lj_value *key = string_member(req, "key");
    uint8_t bytes[LICENSE_KEY_BYTES];
    license_reason r = key ? license_decode_key(key->text, key->len, bytes) : LICENSE_MALFORMED;
    if (r != LICENSE_OK) {
        lj_buf_str(out, "{\"reason\":\"");
        lj_buf_str(out, license_reason_name(r));
        lj_buf_str(out, "\"}");
        return;
    }
    lj_buf_str(out, "{\"bytes\":");
    write_hex(out, bytes, sizeof bytes);
    lj_buf_str(out, "}");
}

static void handle(const char *line, size_t len, lj_buf *out)
{
    lj_value *req = lj_parse(line, len);
    const lj_value *op = req ? string_member(req, "op") : NULL;
    if (!op)
        lj_buf_str(out, "{\"error\":\"INPUT\"}");
    else if (lj_is_string(op, "email"))
        op_email(req, out);
    else if (lj_is_string(op, "keyring"))
        op_keyring(req, out);
    else if (lj_is_string(op, "revocations"))
        op_revocations(req, out);
    else if (lj_is_string(op, "validate"))
        op_validate(req, out);
    else if (lj_is_string(op, "verify"))
        op_verify(req, out);
    else if (lj_is_string(op, "decode"))
        op_decode(req, out);
    else
        lj_buf_str(out, "{\"error\":\"OP\"}");
    lj_free(req);
}

int main(void)
{
    size_t cap = 1 << 16, len = 0;
    char *line = malloc(cap);
    lj_buf out = {0};
    if (!line)
        return 2;
    int c;
    for (;;) {
        c = getchar();
        if (c == EOF && len == 0)
            break;
        if (c != '\n' && c != EOF) {
            if (len + 1 == cap) {
                char *bigger = realloc(line, cap *= 2);
                if (!bigger)
                    return 2;
                line = bigger;
            }
            line[len++] = (char)c;
            continue;
        }
        if (len && line[len - 1] == '\r')
            len--;
        out.len = 0;
        out.failed = 0;
        handle(line, len, &out);
        lj_buf_str(&out, "\n");
        if (out.failed)
            return 2;
        fwrite(out.data, 1, out.len, stdout);
        fflush(stdout);
        len = 0;
        if (c == EOF)
            break;
    }
    free(line);
    lj_buf_free(&out);
    return 0;
}
