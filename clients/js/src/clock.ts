/**
 * A helper a program may use to notice a clock set back to stretch an expiring license.
 *
 * The program stores the high-water mark it is given (in its settings, say) and passes it back
 * at the next start. Pure: no clock reading and no storage here.
 */

/** Time zones, daylight saving and a network time correction move a clock back by hours, not days. */
export const DEFAULT_TOLERANCE_MS = 26 * 60 * 60 * 1000;

export interface ClockCheck {
  /** Store this and pass it back next time. */
  highWaterMark: Date;
  /** True when `now` is earlier than a time already seen, beyond the tolerance. */
  setBack: boolean;
  /** How far behind the mark `now` is, in milliseconds (0 when not behind). */
  setBackByMs: number;
}

/** Compare `now` with the latest time seen before (null the first time). */
export function checkClock(now: Date, highWaterMark: Date | null, toleranceMs: number = DEFAULT_TOLERANCE_MS): ClockCheck {
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new TypeError("now must be a valid Date");
  if (highWaterMark !== null && (!(highWaterMark instanceof Date) || Number.isNaN(highWaterMark.getTime()))) {
    throw new TypeError("highWaterMark must be a valid Date or null");
  }
  if (highWaterMark === null || now.getTime() >= highWaterMark.getTime()) {
    return { highWaterMark: now, setBack: false, setBackByMs: 0 };
  }
  const behind = highWaterMark.getTime() - now.getTime();
  return { highWaterMark, setBack: behind > toleranceMs, setBackByMs: behind };
}
