/**
 * Cron expressions (5 fields: minute hour day-of-month month day-of-week) and their next run
 * time in a timezone. The SDK checks expressions when `new Cron()` is made; the server's
 * scheduler computes fire times. Day-of-month and day-of-week follow Vixie cron: when both are
 * restricted, a day matching either fires.
 */

export interface CronSpec {
  /** The expression as written. */
  expression: string;
  minutes: Set<number>;
  hours: Set<number>;
  daysOfMonth: Set<number>;
  months: Set<number>;
  daysOfWeek: Set<number>;
  domRestricted: boolean;
  dowRestricted: boolean;
}

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

interface FieldRule {
  name: string;
  min: number;
  max: number;
  names?: string[];
  namesFrom?: number;
}

const FIELDS: FieldRule[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  { name: "month", min: 1, max: 12, names: MONTHS, namesFrom: 1 },
  { name: "day of week", min: 0, max: 7, names: DAYS, namesFrom: 0 },
];

/** Parses a cron expression; throws an Error that names the bad field. */
export function parseCron(expression: string): CronSpec {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) {
    throw new Error(`cron expression "${expression}" must have 5 fields (minute hour day-of-month month day-of-week), it has ${parts.length}`);
  }
  const sets = parts.map((part, i) => parseField(part, FIELDS[i], expression));
  const daysOfWeek = new Set([...sets[4]].map((d) => (d === 7 ? 0 : d)));
  return {
    expression,
    minutes: sets[0],
    hours: sets[1],
    daysOfMonth: sets[2],
    months: sets[3],
    daysOfWeek,
    domRestricted: parts[2] !== "*" && parts[2] !== "?",
    dowRestricted: parts[4] !== "*" && parts[4] !== "?",
  };
}

function parseField(text: string, rule: FieldRule, expression: string): Set<number> {
  const out = new Set<number>();
  const bad = (why: string) => new Error(`cron expression "${expression}": ${rule.name} "${text}" ${why}`);
  for (const item of text.split(",")) {
    const [range, stepText] = item.split("/");
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw bad("has a bad step");
    let from: number;
    let to: number;
    if (range === "*" || range === "?") {
      from = rule.min;
      to = rule.max === 7 ? 6 : rule.max;
    } else {
      const [a, b] = range.split("-");
      from = value(a, rule, bad);
      to = b === undefined ? (stepText === undefined ? from : rule.max) : value(b, rule, bad);
    }
    if (from > to) throw bad(`counts down (${from} > ${to})`);
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return out;
}

function value(text: string, rule: FieldRule, bad: (why: string) => Error): number {
  const byName = rule.names?.indexOf(text.toUpperCase()) ?? -1;
  const n = byName >= 0 ? byName + (rule.namesFrom ?? 0) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < rule.min || n > rule.max) throw bad(`is not a value from ${rule.min} to ${rule.max}`);
  return n;
}

/** Days a month can have (February: 29, in leap years). */
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

/**
 * Why a cron never fires ("February has no day 30"), or undefined when it does. Only the day-of-month field can rule out
 * every day: a restricted day of week always comes round, and with both day fields restricted
 * a day matching either fires. February counts 29 days, since February 29 comes at least once
 * in any 8 years (2096 to 2104 skips 2100), the span `nextCronTime` searches.
 */
export function whyCronNeverFires(spec: CronSpec): string | undefined {
  if (spec.dowRestricted) return undefined;
  const months = [...spec.months].sort((a, b) => a - b);
  const days = [...spec.daysOfMonth].sort((a, b) => a - b);
  if (months.some((m) => days[0] <= MONTH_DAYS[m - 1])) return undefined;
  const dayText = `day ${days.join(" or ")}`;
  if (months.length === 1) return `${MONTH_NAMES[months[0] - 1]} has no ${dayText}`;
  return `none of the months it allows (${months.map((m) => MONTH_NAMES[m - 1]).join(", ")}) has a ${dayText}`;
}

/** Checks an IANA timezone name; throws when the platform does not know it. */
export function checkTimezone(timezone: string): void {
  try {
    formatterFor(timezone);
  } catch {
    throw new Error(`unknown timezone "${timezone}"; use an IANA name like "UTC" or "Europe/Paris"`);
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      weekday: "short",
    });
    formatters.set(timezone, f);
  }
  return f;
}

interface WallClock {
  month: number;
  day: number;
  weekday: number;
  hour: number;
  minute: number;
}

function wallClock(time: number, timezone: string): WallClock {
  const parts: Record<string, string> = {};
  for (const p of formatterFor(timezone).formatToParts(new Date(time))) parts[p.type] = p.value;
  return {
    month: Number(parts.month),
    day: Number(parts.day),
    weekday: DAYS.indexOf(parts.weekday.toUpperCase().slice(0, 3)),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
  };
}

const MINUTE = 60_000;

/**
 * The first time strictly after `after` (ms) when the cron fires, in `timezone`. Across DST
 * changes: a local time that does not exist that day is skipped; a job at fixed times (no
 * `*`-like minute or hour field) runs once, not twice, when its time repeats as clocks fall
 * back, while an hourly or more frequent job runs in both passes of the repeated hour.
 */
export function nextCronTime(spec: CronSpec, after: number, timezone = "UTC"): number {
  const fixedTime = spec.hours.size < 24 && spec.minutes.size < 60;
  let t = Math.floor(after / MINUTE) * MINUTE + MINUTE;
  // 8 years and a bit: February 29 comes round at least that often (whyCronNeverFires).
  const limit = after + (8 * 366 + 2) * 24 * 60 * MINUTE;
  while (t < limit) {
    const w = wallClock(t, timezone);
    const dayMatches =
      spec.domRestricted && spec.dowRestricted
        ? spec.daysOfMonth.has(w.day) || spec.daysOfWeek.has(w.weekday)
        : spec.daysOfMonth.has(w.day) && spec.daysOfWeek.has(w.weekday);
    if (!spec.months.has(w.month) || !dayMatches) {
      // To about 23:00 local, then hour by hour: a DST gap on the way cannot carry it past midnight.
      t += (Math.max(22 - w.hour, 0) * 60 + (60 - w.minute)) * MINUTE;
    } else if (!spec.hours.has(w.hour)) {
      t += (60 - w.minute) * MINUTE;
    } else if (!spec.minutes.has(w.minute) || (fixedTime && repeatedTime(t, w, timezone))) {
      t += MINUTE;
    } else {
      return t;
    }
  }
  throw new Error(`cron expression "${spec.expression}" never fires (no time within 8 years matches)`);
}

/** Whether the local time at `t` already happened a little earlier (clocks fell back). */
function repeatedTime(t: number, w: WallClock, timezone: string): boolean {
  return [30, 60, 120].some((back) => {
    const e = wallClock(t - back * MINUTE, timezone);
    return e.day === w.day && e.hour === w.hour && e.minute === w.minute;
  });
}
