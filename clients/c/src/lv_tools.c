/* See lv_tools.h. */
#include "lv_tools.h"

#include <string.h>

static void write_day(lj_buf *b, unsigned day)
{
    char text[11];
    if (day == 0) {
        lj_buf_str(b, "null");
        return;
    }
    license_format_day(day, text);
    lj_buf_string(b, text, 10);
}

void lv_write_license(lj_buf *b, const license_info *x, int spaced)
{
    /* compact as the conformance runner writes it, or with Python's default ", " and ": " */
    const char *item = spaced ? ", \"" : ",\"", *colon = spaced ? "\": " : "\":";
    const char *names[] = {"key_id", "product", "serial", "issued", "expires", "updates_until", "seats", "edition", "flags"};
    const uint64_t numbers[] = {x->key_id, x->product, x->serial, 0, 0, 0, x->seats, x->edition, x->flags};
    const unsigned days[] = {0, 0, 0, x->issued, x->expires, x->updates_until, 0, 0, 0};
    for (size_t i = 0; i < 9; i++) {
        lj_buf_str(b, i ? item : "{\"");
        lj_buf_str(b, names[i]);
        lj_buf_str(b, colon);
        if (i >= 3 && i <= 5)
            write_day(b, days[i]);
        else
            lj_buf_uint(b, numbers[i]);
    }
    lj_buf_str(b, "}");
}

void lv_write_result(lj_buf *b, license_reason reason, const license_info *info)
{
    if (reason == LICENSE_OK) {
        lj_buf_str(b, "{\"valid\":true,\"license\":");
        lv_write_license(b, info, 0);
        lj_buf_str(b, "}");
    } else {
        lj_buf_str(b, "{\"valid\":false,\"reason\":\"");
        lj_buf_str(b, license_reason_name(reason));
        lj_buf_str(b, "\"}");
    }
}

void lv_write_value(lj_buf *b, const lj_value *v)
{
    switch (v->type) {
    case LJ_NULL: lj_buf_str(b, "null"); break;
    case LJ_TRUE: lj_buf_str(b, "true"); break;
    case LJ_FALSE: lj_buf_str(b, "false"); break;
    case LJ_NUMBER: lj_buf_raw(b, v->text, v->len); break;
    case LJ_STRING: lj_buf_string(b, v->text, v->len); break;
    case LJ_ARRAY:
    case LJ_OBJECT:
        lj_buf_str(b, v->type == LJ_ARRAY ? "[" : "{");
        for (size_t i = 0; i < v->count; i++) {
            if (i)
                lj_buf_str(b, ",");
            if (v->type == LJ_OBJECT) {
                lj_buf_string(b, v->names[i].text, v->names[i].len);
                lj_buf_str(b, ":");
            }
            lv_write_value(b, &v->items[i]);
        }
        lj_buf_str(b, v->type == LJ_ARRAY ? "]" : "}");
        break;
    }
}

static int digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

int lv_parse_date(const char *s, size_t n, int32_t *out)
{
    int y, m, d;
    if (n != 10 || s[4] != '-' || s[7] != '-' || digits(s, 4, &y) || digits(s + 5, 2, &m) || digits(s + 8, 2, &d))
        return -1;
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return -1;
    *out = license_days_from_civil(y, (unsigned)m, (unsigned)d);
    return 0;
}

int lv_parse_instant(const char *s, size_t n, int64_t *out)
{
    int32_t day;
    int hh = 0, mm = 0, ss = 0, offset = 0;
    if (n < 10 || lv_parse_date(s, 10, &day))
        return -1;
    size_t i = 10;
    if (i < n) {
        /* Any one character between the date and the time, as Python's fromisoformat allows. */
        size_t sep = i;
        if (lv_utf8_next((const unsigned char *)s, n, &sep) < 0)
            return -1;
        i = sep - 1;
        if (n - i < 6 || s[i + 3] != ':' || digits(s + i + 1, 2, &hh) || digits(s + i + 4, 2, &mm))
            return -1;
        i += 6;
        if (i < n && s[i] == ':') {
            if (n - i < 3 || digits(s + i + 1, 2, &ss))
                return -1;
            i += 3;
            if (i < n && (s[i] == '.' || s[i] == ',')) {
                size_t k = ++i;
                while (i < n && s[i] >= '0' && s[i] <= '9')
                    i++;
                if (i == k)
                    return -1; /* fractions of a second never change the day of a whole second */
            }
        }
        if (hh > 23 || mm > 59 || ss > 59)
            return -1;
    }
    if (i < n) {
        if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
            i++;
        } else if (s[i] == '+' || s[i] == '-') {
            /* +HH:MM, +HHMM or +HH */
            int oh, om = 0;
            size_t rest = n - i;
            if (digits(s + i + 1, 2, &oh) || oh > 23 ||
                !(rest == 3 || (rest == 5 && !digits(s + i + 3, 2, &om)) ||
                  (rest == 6 && s[i + 3] == ':' && !digits(s + i + 4, 2, &om))) ||
                om > 59)
                return -1;
            offset = (s[i] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
            i = n;
        } else {
            return -1;
        }
    }
    *out = ((int64_t)day + 10957) * 86400 + hh * 3600 + mm * 60 + ss - offset;
    return 0;
}
