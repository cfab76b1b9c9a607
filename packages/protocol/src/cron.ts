import type { CronOptions, CronPattern } from "croner";

/** croner, loaded when a cron expression is first read: the CLI and the SDK load this module for every program (issue 11). */
function croner(): typeof import("croner") {
  return require("croner") as typeof import("croner");
}

/**
 * Cron expressions and their next run time in a timezone, on croner: five fields (minute hour
 * day-of-month month day-of-week) with `*`, lists, ranges, steps, names, `L` (last day of the month,
 * or `5L` the last Friday), `#` (`MON#1`, the first Monday), `W` (nearest weekday), and nicknames
 * (`@daily`, `@hourly`, `@weekly`, `@monthly`, `@yearly`). The SDK checks an expression when
 * `new Cron()` is made and the server again at deploy (`validate.ts`); the scheduler computes fire
 * times. What we add: errors that name the bad field, a time in a DST gap skipped that day, and
 * why an expression never fires.
 */

/** A checked cron expression. */
export interface CronSpec {
  /** The expression as written. */
  expression: string;
  /** croner's reading of it (which values of each field match). */
  pattern: CronPattern;
}

/**
 * How we read expressions. Day-of-month and day-of-week follow Vixie cron (croner's default): when
 * both are restricted, a day matching either fires. `5/20` (a start with a step) runs to the end of
 * the field, as in Vixie cron. A job without `*` or a step in its minute and hour fields is a
 * fixed-time job: a time repeated as clocks fall back runs once; others run in both passes.
 */
const OPTIONS: CronOptions = { mode: "5-part", sloppyRanges: true, fixedTimeRule: "no-wildcard", domAndDow: false };

const FIELDS = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12 },
  { name: "day of week", min: 0, max: 7 },
];

/** Parses a cron expression; throws an Error that names the bad field. */
export function parseCron(expression: string): CronSpec {
  const parts = expression.trim().split(/\s+/).filter(Boolean);
  if (parts.length !== 5 && !(parts.length === 1 && parts[0].startsWith("@"))) {
    throw new Error(`cron expression "${expression}" must have 5 fields (minute hour day-of-month month day-of-week), it has ${parts.length}`);
  }
  try {
    return { expression, pattern: new (croner().CronPattern)(expression, undefined, OPTIONS) };
  } catch (error) {
    throw new Error(`cron expression "${expression}": ${whichField(parts) ?? reason(error)}`);
  }
}

/** The first field croner refuses on its own, said the way a user can fix it. */
function whichField(parts: string[]): string | undefined {
  for (const [i, field] of FIELDS.entries()) {
    if (parts.length !== 5) break;
    try {
      new (croner().CronPattern)(parts.map((p, j) => (j === i ? p : "*")).join(" "), undefined, OPTIONS);
    } catch (error) {
      // croner counts days of month and months from 0 in this message: say the range instead.
      const why = /invalid value/i.test(reason(error)) ? `is not a value from ${field.min} to ${field.max}` : `is not valid: ${reason(error)}`;
      return `${field.name} "${parts[i]}" ${why}`;
    }
  }
  return undefined;
}

/** croner's message, without its prefix and the field it repeats. */
const reason = (error: unknown) =>
  String((error as Error).message)
    .replace(/^CronPattern: (configuration entry \S+ \(.*?\) )?/, "")
    .replace(/\.$/, "")
    .replace(/^./, (c) => c.toLowerCase());

/** Checks an IANA timezone name; throws when the platform does not know it. */
export function checkTimezone(timezone: string): void {
  try {
    if (!timezone) throw new RangeError("no timezone");
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
  } catch {
    throw new Error(`unknown timezone "${timezone}"; use an IANA name like "UTC" or "Europe/Paris"`);
  }
}

/**
 * The first time strictly after `after` (ms) when the cron fires, in `timezone`. Across DST
 * changes: a local time that does not exist that day is skipped (croner would run it at the end of
 * the gap); a fixed-time job runs once when its time repeats as clocks fall back, while an hourly
 * or more frequent job runs in both passes of the repeated hour. Throws when it never fires.
 */
export function nextCronTime(spec: CronSpec, after: number, timezone = "UTC"): number {
  const job = new (croner().Cron)(spec.expression, { ...OPTIONS, timezone });
  let next = job.nextRun(new Date(after));
  // A run croner moved out of a DST gap shows a wall-clock time the pattern does not have.
  while (next && !job.match(next)) next = job.nextRun(next);
  if (!next) throw new Error(`cron expression "${spec.expression}" never fires: ${whyCronNeverFires(spec) ?? "no time matches it"}`);
  return next.getTime();
}

/** Days a month can have (February: 29, in leap years). */
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

/**
 * Why a cron never fires ("February has no day 30"), or undefined when it does. Only the
 * day-of-month field can rule out every day (a restricted day of week always comes round, and with
 * both day fields restricted a day matching either fires). croner decides whether it fires from
 * 2000 on (no limit: February 29 of 2104 counts); this names the days and months that rule it out.
 */
export function whyCronNeverFires(spec: CronSpec): string | undefined {
  if (new (croner().Cron)(spec.expression, OPTIONS).nextRun(new Date(Date.UTC(2000, 0, 1))) !== null) return undefined;
  const p = spec.pattern;
  const months = indexes(p.month).map((m) => m + 1);
  const days = [...new Set([...indexes(p.day), ...indexes(p.nearestWeekdays)].map((d) => d + 1))].sort((a, b) => a - b);
  if (days.length === 0 || months.some((m) => days[0] <= MONTH_DAYS[m - 1])) return "no time matches it";
  const dayText = `day ${days.join(" or ")}`;
  if (months.length === 1) return `${MONTH_NAMES[months[0] - 1]} has no ${dayText}`;
  return `none of the months it allows (${months.map((m) => MONTH_NAMES[m - 1]).join(", ")}) has a ${dayText}`;
}

/** The indexes whose entry is set, in croner's arrays of 0 and 1. */
const indexes = (flags: number[] | undefined) => (flags ?? []).flatMap((f, i) => (f ? [i] : []));
