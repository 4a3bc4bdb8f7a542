/* The two JSON documents: the public keyring (docs/key-format.md section 5) and the signed
 * revocation list (section 6). Either is accepted as a whole or refused as a whole. */
#include "license_validator.h"
#include "lv_internal.h"
#include "lv_json.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SAFE_INTEGER 9007199254740991ULL /* 2^53 - 1 */
#define MAX_SERIAL ((1ULL << 48) - 1)
#define MAX_ISSUE_TIME 253402300799ULL /* 9999-12-31T23:59:59Z */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Exactly 2*n hex digits, nothing else. */
static int read_hex(const lj_value *v, uint8_t *out, size_t n)
{
    if (!v || v->type != LJ_STRING || v->len != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value(v->text[2 * i]), lo = hex_value(v->text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

const char *license_key_status_name(license_key_status status)
{
    switch (status) {
    case LICENSE_KEY_ACTIVE: return "active";
    case LICENSE_KEY_VERIFY_ONLY: return "verify-only";
    case LICENSE_KEY_RETIRED_STATUS: return "retired";
    default: return "unknown";
    }
}

const char *license_doc_status_message(license_doc_status status)
{
    switch (status) {
    case LICENSE_DOC_OK: return "the document is valid";
    case LICENSE_DOC_NOT_JSON: return "the document is not a UTF-8 JSON object";
    case LICENSE_DOC_WRONG_FORMAT: return "the document's \"format\" is not the one expected";
    case LICENSE_DOC_INVALID: return "a required member is missing, of the wrong type or out of range";
    case LICENSE_DOC_DUPLICATE_KEY: return "a key_id appears twice in the keyring";
    case LICENSE_DOC_UNKNOWN_KEY: return "the revocation list is signed by a key this program does not know";
    case LICENSE_DOC_KEY_RETIRED: return "the revocation list is signed by a key the vendor has retired";
    case LICENSE_DOC_BAD_SIGNATURE: return "the revocation list's signature does not check out";
    case LICENSE_DOC_NO_MEMORY: return "out of memory";
    default: return "unknown document status";
    }
}

void license_keyring_free(license_keyring *kr)
{
    if (!kr)
        return;
    for (size_t i = 0; i < kr->product_count; i++)
        free(kr->products[i].name);
    free(kr->products);
    free(kr);
}

static license_doc_status parse_products(const lj_value *map, license_keyring *kr)
{
    if (!map)
        return LICENSE_DOC_OK;
    if (map->type != LJ_OBJECT)
        return LICENSE_DOC_INVALID;
    kr->products = calloc(map->count ? map->count : 1, sizeof *kr->products);
    if (!kr->products)
        return LICENSE_DOC_NO_MEMORY;
    for (size_t i = 0; i < map->count; i++) {
        const lj_value *name = &map->names[i];
        /* A repeated code keeps its first place and takes its last value (as a JSON object
         * read into a dict does); so only the first occurrence is stored, with lj_get's value. */
        int seen = 0;
        for (size_t k = 0; k < kr->product_count && !seen; k++)
            seen = kr->products[k].name_len == name->len && memcmp(kr->products[k].name, name->text, name->len) == 0;
        if (seen)
            continue;
        const lj_value *value = NULL;
        for (size_t k = map->count; k-- > 0;)
            if (map->names[k].len == name->len && memcmp(map->names[k].text, name->text, name->len) == 0) {
                value = &map->items[k];
                break;
            }
        uint64_t number;
        if (!lj_whole(value, 0xFFFF, &number) || number < 1)
            return LICENSE_DOC_INVALID;
        lv_product *p = &kr->products[kr->product_count];
        p->name = malloc(name->len + 1);
        if (!p->name)
            return LICENSE_DOC_NO_MEMORY;
        memcpy(p->name, name->text, name->len + 1);
        p->name_len = name->len;
        p->number = (unsigned)number;
        kr->product_count++;
    }
    return LICENSE_DOC_OK;
}

static license_doc_status parse_keyring(const lj_value *doc, license_keyring *kr)
{
    if (!doc || doc->type != LJ_OBJECT)
        return LICENSE_DOC_NOT_JSON;
    if (!lj_is_string(lj_get(doc, "format"), "licensing-keyring/1"))
        return LICENSE_DOC_WRONG_FORMAT;
    const lj_value *keys = lj_get(doc, "keys");
    if (!keys || keys->type != LJ_ARRAY)
        return LICENSE_DOC_INVALID;
    for (size_t i = 0; i < keys->count; i++) {
        const lj_value *entry = &keys->items[i];
        if (entry->type != LJ_OBJECT)
            return LICENSE_DOC_INVALID;
        uint64_t id;
        if (!lj_whole(lj_get(entry, "key_id"), 255, &id) || id < 1)
            return LICENSE_DOC_INVALID;
        lv_key *key = &kr->keys[id];
        if (read_hex(lj_get(entry, "public_key"), key->public_key, 32))
            return LICENSE_DOC_INVALID;
        const lj_value *status = lj_get(entry, "status");
        if (!status || lj_is_string(status, "active"))
            key->status = LICENSE_KEY_ACTIVE;
        else if (lj_is_string(status, "verify-only"))
            key->status = LICENSE_KEY_VERIFY_ONLY;
        else if (lj_is_string(status, "retired"))
            key->status = LICENSE_KEY_RETIRED_STATUS;
        else
            return LICENSE_DOC_INVALID;
        if (key->present)
            return LICENSE_DOC_DUPLICATE_KEY;
        key->present = 1;
        kr->key_count++;
    }
    return parse_products(lj_get(doc, "products"), kr);
}

license_doc_status license_keyring_parse(const char *json, size_t len, license_keyring **out)
{
    *out = NULL;
    if (sodium_init() < 0)
        return LICENSE_DOC_NO_MEMORY;
    license_keyring *kr = calloc(1, sizeof *kr);
    if (!kr)
        return LICENSE_DOC_NO_MEMORY;
    lj_value *doc = lj_parse(json, len);
    license_doc_status status = parse_keyring(doc, kr);
    lj_free(doc);
    if (status != LICENSE_DOC_OK) {
        license_keyring_free(kr);
        return status;
    }
    *out = kr;
    return LICENSE_DOC_OK;
}

size_t license_keyring_key_count(const license_keyring *kr) { return kr->key_count; }

int license_keyring_key_at(const license_keyring *kr, size_t index, unsigned *key_id, uint8_t public_key[32],
                           license_key_status *status)
{
    for (unsigned id = 1; id < 256; id++) {
        if (!kr->keys[id].present)
            continue;
        if (index-- == 0) {
            if (key_id)
                *key_id = id;
            if (public_key)
                memcpy(public_key, kr->keys[id].public_key, 32);
            if (status)
                *status = kr->keys[id].status;
            return 1;
        }
    }
    return 0;
}

size_t license_keyring_product_count(const license_keyring *kr) { return kr->product_count; }

int license_keyring_product_at(const license_keyring *kr, size_t index, const char **name, size_t *name_len,
                               unsigned *number)
{
    if (index >= kr->product_count)
        return 0;
    if (name)
        *name = kr->products[index].name;
    if (name_len)
        *name_len = kr->products[index].name_len;
    if (number)
        *number = kr->products[index].number;
    return 1;
}

int license_keyring_product_number(const license_keyring *kr, const char *name, size_t name_len, unsigned *number)
{
    for (size_t i = 0; i < kr->product_count; i++)
        if (kr->products[i].name_len == name_len && memcmp(kr->products[i].name, name, name_len) == 0) {
            *number = kr->products[i].number;
            return 1;
        }
    return 0;
}

/* ---- revocation lists ---- */

static const char REVOCATIONS_CONTEXT[] = "licensing.v1/revocations"; /* and its NUL: 25 bytes */

static int compare_serials(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void put_be(uint8_t *out, uint64_t value, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--) {
        out[i] = (uint8_t)value;
        value >>= 8;
    }
}

static license_doc_status parse_revocations(const lj_value *doc, const license_keyring *kr, license_revocations *rl)
{
    if (!doc || doc->type != LJ_OBJECT)
        return LICENSE_DOC_NOT_JSON;
    if (!lj_is_string(lj_get(doc, "format"), "licensing-revocations/1"))
        return LICENSE_DOC_WRONG_FORMAT;
    uint64_t key_id, sequence, issue_time;
    if (!lj_whole(lj_get(doc, "key_id"), 255, &key_id) || !lj_whole(lj_get(doc, "sequence"), MAX_SAFE_INTEGER, &sequence) ||
        !lj_whole(lj_get(doc, "issue_time"), MAX_ISSUE_TIME, &issue_time))
        return LICENSE_DOC_INVALID;
    const lj_value *serials = lj_get(doc, "serials");
    if (!serials || serials->type != LJ_ARRAY)
        return LICENSE_DOC_INVALID;
    rl->serials = malloc((serials->count ? serials->count : 1) * sizeof *rl->serials);
    if (!rl->serials)
        return LICENSE_DOC_NO_MEMORY;
    for (size_t i = 0; i < serials->count; i++)
        if (!lj_whole(&serials->items[i], MAX_SERIAL, &rl->serials[i]))
            return LICENSE_DOC_INVALID;
    uint8_t signature[64];
    const lj_value *sig = lj_get(doc, "signature");
    if (!sig || sig->type != LJ_STRING)
        return LICENSE_DOC_INVALID;
    const lv_key *key = &kr->keys[key_id];
    if (!key->present)
        return LICENSE_DOC_UNKNOWN_KEY;
    if (key->status == LICENSE_KEY_RETIRED_STATUS)
        return LICENSE_DOC_KEY_RETIRED;
    if (read_hex(sig, signature, 64))
        return LICENSE_DOC_BAD_SIGNATURE;
    /* Sorted and without duplicates: what the signature covers, and what lookups search. */
    qsort(rl->serials, serials->count, sizeof *rl->serials, compare_serials);
    size_t count = 0;
    for (size_t i = 0; i < serials->count; i++)
        if (count == 0 || rl->serials[count - 1] != rl->serials[i])
            rl->serials[count++] = rl->serials[i];
    rl->count = count;
    size_t header = sizeof REVOCATIONS_CONTEXT + 1 + 8 + 8 + 4;
    if (count > (SIZE_MAX - header) / 6 || count > 0xFFFFFFFFu)
        return LICENSE_DOC_INVALID;
    size_t message_len = header + 6 * count;
    uint8_t *message = malloc(message_len);
    if (!message)
        return LICENSE_DOC_NO_MEMORY;
    uint8_t *m = message;
    memcpy(m, REVOCATIONS_CONTEXT, sizeof REVOCATIONS_CONTEXT);
    m += sizeof REVOCATIONS_CONTEXT;
    put_be(m, key_id, 1);
    put_be(m + 1, sequence, 8);
    put_be(m + 9, issue_time, 8);
    put_be(m + 17, count, 4);
    m += 21;
    for (size_t i = 0; i < count; i++, m += 6)
        put_be(m, rl->serials[i], 6);
    int ok = crypto_sign_verify_detached(signature, message, message_len, key->public_key) == 0;
    free(message);
    if (!ok)
        return LICENSE_DOC_BAD_SIGNATURE;
    memcpy(rl->signature, signature, 64);
    rl->key_id = (unsigned)key_id;
    rl->sequence = sequence;
    rl->issue_time = (int64_t)issue_time;
    return LICENSE_DOC_OK;
}

license_doc_status license_revocations_parse(const char *json, size_t len, const license_keyring *kr,
                                             license_revocations **out)
{
    *out = NULL;
    if (!kr)
        return LICENSE_DOC_UNKNOWN_KEY;
    if (sodium_init() < 0)
        return LICENSE_DOC_NO_MEMORY;
    license_revocations *rl = calloc(1, sizeof *rl);
    if (!rl)
        return LICENSE_DOC_NO_MEMORY;
    lj_value *doc = lj_parse(json, len);
    license_doc_status status = parse_revocations(doc, kr, rl);
    lj_free(doc);
    if (status != LICENSE_DOC_OK) {
        license_revocations_free(rl);
        return status;
    }
    *out = rl;
    return LICENSE_DOC_OK;
}

void license_revocations_free(license_revocations *rl)
{
    if (rl) {
        free(rl->serials);
        free(rl);
    }
}

unsigned license_revocations_key_id(const license_revocations *rl) { return rl->key_id; }
uint64_t license_revocations_sequence(const license_revocations *rl) { return rl->sequence; }
int64_t license_revocations_issue_time(const license_revocations *rl) { return rl->issue_time; }
size_t license_revocations_count(const license_revocations *rl) { return rl->count; }
void license_revocations_signature(const license_revocations *rl, uint8_t signature[64])
{
    memcpy(signature, rl->signature, 64);
}
uint64_t license_revocations_serial_at(const license_revocations *rl, size_t index)
{
    return index < rl->count ? rl->serials[index] : 0;
}

int license_revocations_contains(const license_revocations *rl, uint64_t serial)
{
    size_t lo = 0, hi = rl->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rl->serials[mid] == serial)
            return 1;
        if (rl->serials[mid] < serial)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}
