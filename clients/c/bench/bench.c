/* Keys validated per second by license_validate against raw crypto_sign_verify_detached on the
 * same 72-byte signed message, in the same run: rounds of short alternating blocks (so that
 * frequency changes and other load hit both alike). Prints the median and range over the rounds.
 *
 *     license_bench [VECTORS_DIR] [ROUNDS] [CHECKS_PER_ROUND]
 *
 * Defaults: tests/vectors, 15 rounds, 2000 checks. Rates are per second of this process's CPU
 * time. Also prints what validation costs besides the signature (reading the key, the email
 * rules and digest, the checks), measured alone. */
#include "license_validator.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char KEY[] = "041G0080-000000Z9-VDAJA9R0-00000001-00000NM5-V5FFPM0K-E9EM39QR-XWQJXGJK-6DHZWHVA-"
                          "EG4TE8VF-HG22XRRQ-EPB26C4X-JCGEZ76G-07BWKAKY-AQ30YC6P-PHAW18AW-N22FQ1W8-EW78H1G";
static const char EMAIL[] = "alice@example.com";
#define NOW 1781524800 /* 2026-06-15T12:00:00Z */

/* CPU time of this process: time the scheduler gives to other programs on a shared machine is
 * not counted against either side. */
static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, by_value);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "tests/vectors";
    int rounds = argc > 2 ? atoi(argv[2]) : 15, n = argc > 3 ? atoi(argv[3]) : 2000;
    if (rounds < 1 || n < 1 || sodium_init() < 0)
        return 2;
    char path[4096], text[8192];
    snprintf(path, sizeof path, "%s/keyring.json", dir);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "license_bench: cannot read %s\n", path);
        return 2;
    }
    size_t len = fread(text, 1, sizeof text, f);
    fclose(f);
    license_keyring *kr = NULL;
    if (license_keyring_parse(text, len, &kr) != LICENSE_DOC_OK)
        return 2;

    /* the raw side: the same public key, signature and signed message the validator checks */
    uint8_t raw[LICENSE_KEY_BYTES], pk[32], message[72];
    char normal[LICENSE_EMAIL_MAX_BYTES];
    license_decode_key(KEY, strlen(KEY), raw);
    license_keyring_key_at(kr, 2, NULL, pk, NULL); /* key 3 */
    memcpy(message, "licensing.v1/key", 17);
    memcpy(message + 17, raw, 23);
    license_normalize_email(EMAIL, strlen(EMAIL), normal, message + 40);
    if (crypto_sign_verify_detached(raw + 23, message, 72, pk) != 0)
        return 2;

    double *validate_rate = malloc(sizeof(double) * (size_t)rounds);
    double *raw_rate = malloc(sizeof(double) * (size_t)rounds);
    double *ratio = malloc(sizeof(double) * (size_t)rounds);
    volatile int sink = 0;
    for (int r = 0; r < rounds; r++) {
        license_info info;
        /* Each round is many short blocks, alternating sides and which side goes first, so that
         * a burst of load from elsewhere lands on both sides nearly equally. */
        double spent[2] = {0, 0};
        int block = n < 100 ? n : 100, done = 0;
        for (int b = 0; done < n; b++, done += block) {
            int count = n - done < block ? n - done : block;
            for (int side = 0; side < 2; side++) {
                int validate_now = (side == 0) == (b % 2 == 0);
                double start = seconds();
                for (int i = 0; i < count; i++)
                    sink += validate_now ? (int)license_validate(KEY, EMAIL, 1, kr, NOW, 0, NULL, &info)
                                         : crypto_sign_verify_detached(raw + 23, message, 72, pk);
                spent[validate_now] += seconds() - start;
            }
        }
        validate_rate[r] = n / spent[1];
        raw_rate[r] = n / spent[0];
        ratio[r] = validate_rate[r] / raw_rate[r];
    }
    /* the rest of the work, alone: read the key, normalise and hash the email */
    double start = seconds();
    for (int i = 0; i < n; i++) {
        uint8_t bytes[LICENSE_KEY_BYTES], digest[32];
        sink += (int)license_decode_key(KEY, strlen(KEY), bytes);
        sink += (int)license_normalize_email(EMAIL, strlen(EMAIL), normal, digest);
    }
    double rest_us = (seconds() - start) / n * 1e6;
    if (sink != 0) {
        fprintf(stderr, "license_bench: a check failed\n");
        return 1;
    }
    double vmin = validate_rate[0], vmax = vmin, rmin = raw_rate[0], rmax = rmin, qmin = ratio[0], qmax = qmin;
    for (int r = 1; r < rounds; r++) {
        vmin = validate_rate[r] < vmin ? validate_rate[r] : vmin;
        vmax = validate_rate[r] > vmax ? validate_rate[r] : vmax;
        rmin = raw_rate[r] < rmin ? raw_rate[r] : rmin;
        rmax = raw_rate[r] > rmax ? raw_rate[r] : rmax;
        qmin = ratio[r] < qmin ? ratio[r] : qmin;
        qmax = ratio[r] > qmax ? ratio[r] : qmax;
    }
    printf("rounds %d x %d checks in alternating blocks, per CPU second; libsodium %s\n", rounds, n, sodium_version_string());
    printf("license_validate             %8.0f keys/s (median; range %.0f-%.0f)\n", median(validate_rate, rounds), vmin, vmax);
    printf("crypto_sign_verify_detached  %8.0f verifications/s (median; range %.0f-%.0f)\n", median(raw_rate, rounds), rmin,
           rmax);
    printf("ratio validate/raw           %8.3f (median of per-round ratios; range %.3f-%.3f)\n", median(ratio, rounds), qmin,
           qmax);
    printf("reading the key + email rules %8.2f us per key, outside the signature check\n", rest_us);
    free(validate_rate);
    free(raw_rate);
    free(ratio);
    license_keyring_free(kr);
    return 0;
}
