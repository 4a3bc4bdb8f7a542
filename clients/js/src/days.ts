/**
 * Calendar days in UTC as integers: day 0 is 2000-01-01, the key format's epoch.
 *
 * Plain integer arithmetic (the proleptic Gregorian calendar, as Python's datetime.date), so a
 * date never passes through a Date object and its time zone.
 */

const DAYS_1970_TO_2000 = 10957;
const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 of a civil date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (month <= 2 ? 1 : 0), month, day];
}

function daysInMonth(year: number, month: number): number {
  return daysFromCivil(month === 12 ? year + 1 : year, month === 12 ? 1 : month + 1, 1) - daysFromCivil(year, month, 1);
}

/** 'YYYY-MM-DD' (years 0001..9999, as Python's date.fromisoformat) as days since 2000-01-01, or null. */
export function parseDate(text: string): number | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (match === null) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  return daysFromCivil(year, month, day) - DAYS_1970_TO_2000;
}

/** Days since 2000-01-01 as 'YYYY-MM-DD'. */
export function formatDay(day: number): string {
  const [year, month, date] = civilFromDays(day + DAYS_1970_TO_2000);
  return `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(date).padStart(2, "0")}`;
}

/** The UTC calendar day of an instant, as days since 2000-01-01. */
export function utcDay(instant: Date): number {
  const ms = instant.getTime();
  if (!Number.isFinite(ms)) throw new TypeError("now must be a valid Date");
  return Math.floor(ms / MS_PER_DAY) - DAYS_1970_TO_2000;
}

/**
 * An ISO 8601 instant with `Z` or a `±HH:MM` offset (what the conformance runner and
 * `license-check --now` take) as a Date, or null. Without an offset it is read as UTC when
 * `assumeUtc` is set (the CLI's rule), else refused. A bare date means its midnight.
 */
export function parseInstant(text: string, assumeUtc = false): Date | null {
  const match =
    /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|z|[+-]\d{2}:?\d{2})?$/.exec(text);
  if (match === null) return null;
  const day = parseDate(match[1]);
  if (day === null) return null;
  const [hour, minute, second] = [Number(match[2] ?? 0), Number(match[3] ?? 0), Number(match[4] ?? 0)];
  if (hour > 23 || minute > 59 || second > 59) return null;
  const fraction = match[5] === undefined ? 0 : Math.floor(Number(`0.${match[5]}`) * 1000);
  let offsetMinutes = 0;
  const zone = match[6];
  if (zone === undefined) {
    if (!assumeUtc) return null;
  } else if (zone !== "Z" && zone !== "z") {
    const digits = zone.replace(":", "");
    const hours = Number(digits.slice(1, 3));
    const minutes = Number(digits.slice(3, 5));
    if (hours > 23 || minutes > 59) return null;
    offsetMinutes = (zone[0] === "-" ? -1 : 1) * (hours * 60 + minutes);
  }
  const ms =
    (day + DAYS_1970_TO_2000) * MS_PER_DAY + ((hour * 60 + minute - offsetMinutes) * 60 + second) * 1000 + fraction;
  return new Date(ms);
}
