/* license-check: validate one key from a shell, for support staff and scripts; the same flags
 * and exit status as clients/python's license-check.
 *
 *     license-check --key K --email E --product P --keyring FILE
 *                   [--revocations FILE] [--revocations-state FILE] [--now ISO8601]
 *                   [--build-date DATE] [--json] [-v]
 *
 * Exit status: 0 the key is valid (the license is printed), 1 it is not (the reason code and a
 * message are printed), 2 the command itself could not run (bad arguments, an unreadable
 * keyring or revocation list, a revocation list whose signature fails). The key and the email
 * are never printed. This is the one place that reads the clock: --now defaults to it. */
#include "license_validator.h"
#include "lv_json.h"
#include "lv_tools.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXIT_VALID 0
#define EXIT_INVALID 1
#define EXIT_USAGE 2

static const char USAGE[] =
    "usage: license-check [-h] --key KEY --email EMAIL --product PRODUCT --keyring FILE [--revocations FILE]\n"
    "                     [--revocations-state FILE] [--now ISO8601] [--build-date DATE] [--json] [-v]\n";

/* Errors in the arguments' shape come with the usage, as argparse writes them; the others alone. */
static int usage_with_errors = 0;

static void fail(const char *format, ...)
{
    va_list args;
    if (usage_with_errors)
        fputs(USAGE, stderr);
    fputs("license-check: error: ", stderr);
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    fputc('\n', stderr);
    exit(EXIT_USAGE);
}

static char *read_file(const char *path, const char *what, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail("cannot read the %s %s: %s", what, path, strerror(errno));
    size_t cap = 1 << 14, n = 0, got;
    char *data = malloc(cap);
    while (data && (got = fread(data + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap)
            data = realloc(data, cap *= 2);
    }
    if (!data || ferror(f))
        fail("cannot read the %s %s", what, path);
    fclose(f);
    *len = n;
    return data;
}

static void product_label(const license_keyring *kr, unsigned number, char *out, size_t cap)
{
    /* "1 (photo-pro)": the codes naming this number, sorted */
    size_t count = license_keyring_product_count(kr), used = 0;
    const char *names[64];
    for (size_t i = 0; i < count && used < 64; i++) {
        const char *name;
        size_t name_len;
        unsigned n;
        license_keyring_product_at(kr, i, &name, &name_len, &n);
        if (n == number)
            names[used++] = name;
    }
    for (size_t i = 1; i < used; i++)
        for (size_t k = i; k > 0 && strcmp(names[k - 1], names[k]) > 0; k--) {
            const char *t = names[k];
            names[k] = names[k - 1];
            names[k - 1] = t;
        }
    size_t o = (size_t)snprintf(out, cap, "%u", number);
    for (size_t i = 0; i < used && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s", i ? ", " : " (", names[i]);
    if (used && o < cap)
        snprintf(out + o, cap - o, ")");
}

static void print_license(const license_info *x, const license_keyring *kr)
{
    char label[512], day[11], buf[64];
    product_label(kr, x->product, label, sizeof label);
    printf("  %-15s%s\n", "product:", label);
    printf("  %-15s%012llX\n", "serial:", (unsigned long long)x->serial);
    license_format_day(x->issued, day);
    printf("  %-15s%s\n", "issued:", day);
    license_format_day(x->expires, day);
    snprintf(buf, sizeof buf, "end of %s (UTC)", day);
    printf("  %-15s%s\n", "expires:", x->expires ? buf : "never");
    license_format_day(x->updates_until, day);
    printf("  %-15s%s\n", "updates until:", x->updates_until ? day : "no limit");
    printf("  %-15s%u\n", "seats:", x->seats);
    printf("  %-15s%u\n", "edition:", x->edition);
    printf("  %-15s0x%04X\n", "flags:", x->flags);
    printf("  %-15s%u\n", "signing key:", x->key_id);
}

/* The list as the reference's RevocationList.to_json writes it (json.dumps defaults). */
static void write_state(const char *path, const license_revocations *rl)
{
    lj_buf out = {0};
    uint8_t signature[64];
    static const char hex[] = "0123456789abcdef";
    lj_buf_str(&out, "{\"format\": \"licensing-revocations/1\", \"key_id\": ");
    lj_buf_uint(&out, license_revocations_key_id(rl));
    lj_buf_str(&out, ", \"sequence\": ");
    lj_buf_uint(&out, license_revocations_sequence(rl));
    lj_buf_str(&out, ", \"issue_time\": ");
    lj_buf_uint(&out, (uint64_t)license_revocations_issue_time(rl));
    lj_buf_str(&out, ", \"serials\": [");
    for (size_t i = 0; i < license_revocations_count(rl); i++) {
        if (i)
            lj_buf_str(&out, ", ");
        lj_buf_uint(&out, license_revocations_serial_at(rl, i));
    }
    lj_buf_str(&out, "], \"signature\": \"");
    license_revocations_signature(rl, signature);
    for (size_t i = 0; i < 64; i++) {
        char pair[2] = {hex[signature[i] >> 4], hex[signature[i] & 15]};
        lj_buf_raw(&out, pair, 2);
    }
    lj_buf_str(&out, "\"}");
    /* written beside, 0600, then renamed over: a crash leaves the old state or the new one */
    size_t n = strlen(path);
    char *tmp = malloc(n + 5);
    if (!tmp || out.failed)
        fail("revocation state %s: out of memory", path);
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp", 5);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        fail("cannot write the revocation state %s: %s", tmp, strerror(errno));
    int ok = write(fd, out.data, out.len) == (ssize_t)out.len;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0)
        fail("cannot write the revocation state %s: %s", path, strerror(errno));
    free(tmp);
    lj_buf_free(&out);
}

/* The newer of the given list and the one kept in `path` (the higher sequence; the given one on
 * a tie), and `path` updated to it: an older list given later cannot un-revoke a key. */
static license_revocations *keep_newest(const char *path, license_revocations *given, const license_keyring *kr)
{
    license_revocations *kept = NULL;
    if (access(path, F_OK) == 0) {
        size_t len;
        char *document = read_file(path, "revocation state", &len);
        license_doc_status status = license_revocations_parse(document, len, kr, &kept);
        free(document);
        if (status != LICENSE_DOC_OK)
            fail("revocation state %s: %s", path, license_doc_status_message(status));
    }
    if (!kept)
        goto use_given;
    if (!given || license_revocations_sequence(kept) > license_revocations_sequence(given)) {
        license_revocations_free(given);
        return kept;
    }
    license_revocations_free(kept);
use_given:
    if (given)
        write_state(path, given);
    return given;
}

int main(int argc, char **argv)
{
    const char *key = NULL, *email = NULL, *product_text = NULL, *keyring_path = NULL, *revocations_path = NULL;
    const char *now_text = NULL, *build_text = NULL, *state_path = NULL;
    int as_json = 0;
    usage_with_errors = 1;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        static const char *names[] = {"--key", "--email", "--product", "--keyring", "--revocations",
                                      "--revocations-state", "--now", "--build-date"};
        const char **slots[] = {&key, &email, &product_text, &keyring_path, &revocations_path, &state_path, &now_text, &build_text};
        int matched = 0;
        for (size_t k = 0; k < sizeof names / sizeof names[0] && !matched; k++) {
            size_t n = strlen(names[k]);
            if (strncmp(arg, names[k], n) != 0)
                continue;
            if (arg[n] == '=') {
                *slots[k] = arg + n + 1;
                matched = 1;
            } else if (arg[n] == '\0') {
                if (i + 1 >= argc)
                    fail("argument %s: expected one argument", names[k]);
                *slots[k] = argv[++i];
                matched = 1;
            }
        }
        if (matched)
            continue;
        if (!strcmp(arg, "--json"))
            as_json = 1;
        else if (!strcmp(arg, "-v") || !strcmp(arg, "--verbose"))
            ; /* no tracebacks in C: every error is already one line */
        else if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            fputs(USAGE, stdout);
            puts("\nCheck a license key offline against the vendor's public keyring.\n\n"
                 "Exit status: 0 valid, 1 not valid, 2 the check could not be run.");
            return EXIT_VALID;
        } else
            fail("unrecognized arguments: %s", arg);
    }
    if (!key || !email || !product_text || !keyring_path)
        fail("the following arguments are required:%s%s%s%s", key ? "" : " --key", email ? "" : " --email",
             product_text ? "" : " --product", keyring_path ? "" : " --keyring");

    usage_with_errors = 0;
    int64_t now = (int64_t)time(NULL);
    if (now_text && lv_parse_instant(now_text, strlen(now_text), &now))
        fail("--now '%s' is not an ISO 8601 date or time (e.g. 2026-05-01T12:00:00Z)", now_text);
    int32_t build_day = 0;
    if (build_text && lv_parse_date(build_text, strlen(build_text), &build_day))
        fail("--build-date '%s' is not a date of the form YYYY-MM-DD", build_text);
    if (build_day < 0)
        build_day = 0; /* before 2000-01-02: never after any updates-until date */

    size_t len;
    char *document = read_file(keyring_path, "keyring", &len);
    license_keyring *kr = NULL;
    license_doc_status status = license_keyring_parse(document, len, &kr);
    free(document);
    if (status != LICENSE_DOC_OK)
        fail("keyring %s: %s", keyring_path, license_doc_status_message(status));

    unsigned product = 0;
    size_t digits = strspn(product_text, "0123456789");
    if (product_text[0] && product_text[digits] == '\0') {
        unsigned long value = digits > 6 ? 0 : strtoul(product_text, NULL, 10);
        if (value < 1 || value > 0xFFFF)
            fail("--product: a product number is from 1 to 65535, not %s", product_text);
        product = (unsigned)value;
    } else if (!license_keyring_product_number(kr, product_text, strlen(product_text), &product)) {
        fail("--product: product '%s' is not named in the keyring", product_text);
    }

    license_revocations *rl = NULL;
    if (revocations_path) {
        document = read_file(revocations_path, "revocation list", &len);
        status = license_revocations_parse(document, len, kr, &rl);
        free(document);
        if (status != LICENSE_DOC_OK)
            fail("revocation list %s: %s", revocations_path, license_doc_status_message(status));
    }
    if (state_path)
        rl = keep_newest(state_path, rl, kr);

    license_info info;
    license_reason reason = license_validate(key, email, product, kr, now, build_day, rl, &info);
    if (as_json) { /* the result document of docs/key-format.md section 4, as the reference prints it */
        lj_buf out = {0};
        if (reason == LICENSE_OK) {
            lj_buf_str(&out, "{\"valid\": true, \"license\": ");
            lv_write_license(&out, &info, 1);
            lj_buf_str(&out, "}");
        } else {
            lj_buf_str(&out, "{\"valid\": false, \"reason\": \"");
            lj_buf_str(&out, license_reason_name(reason));
            lj_buf_str(&out, "\"}");
        }
        puts(out.data ? out.data : "");
        lj_buf_free(&out);
    } else if (reason == LICENSE_OK) {
        puts("valid");
        print_license(&info, kr);
    } else {
        printf("not valid: %s\n  %s\n", license_reason_name(reason), license_reason_message(reason));
    }
    license_revocations_free(rl);
    license_keyring_free(kr);
    return reason == LICENSE_OK ? EXIT_VALID : EXIT_INVALID;
}
