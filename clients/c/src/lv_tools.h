/* Helpers shared by the command-line tool, the conformance runner and the tests (not part of
 * the library's API): the result as JSON, and ISO 8601 times and dates. */
#ifndef LV_TOOLS_H
#define LV_TOOLS_H

#include "license_validator.h"
#include "lv_json.h"

/* {"valid":true,"license":{...}} or {"valid":false,"reason":"..."} (docs/key-format.md section 4). */
void lv_write_result(lj_buf *buf, license_reason reason, const license_info *info);
/* The license object alone: {"key_id":..,"product":..,"serial":..,...}; spaced: with Python's
 * default separators (", " and ": "), as license-check --json prints it. */
void lv_write_license(lj_buf *buf, const license_info *info, int spaced);
/* Any parsed value, compact, member order kept (numbers as written). */
void lv_write_value(lj_buf *buf, const lj_value *value);
/* "YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|z|±HH:MM]" as Unix seconds; no offset means UTC. 0 or -1. */
int lv_parse_instant(const char *text, size_t len, int64_t *out);
/* "YYYY-MM-DD" as days since 2000-01-01. 0 or -1. */
int lv_parse_date(const char *text, size_t len, int32_t *out);

#endif
