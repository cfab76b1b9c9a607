import { checkTimezone, nextCronTime, parseCron, whyCronNeverFires } from "../src/cron";

/**
 * Cron expressions (SPEC §2 `new Cron(expr, { timezone })`, §3 "a Cron keeps wall-clock time in
 * its timezone (UTC by default)"): what each field accepts, and when the schedule fires next.
 */

const at = (iso: string) => Date.parse(iso);
/** The next fire time after `after` (an ISO instant), as an ISO instant. */
const next = (expression: string, after: string, timezone?: string) => new Date(nextCronTime(parseCron(expression), at(after), timezone)).toISOString();
/** The first `count` fire times after `after`. */
function fires(expression: string, after: string, count: number, timezone?: string): string[] {
  const spec = parseCron(expression);
  const out: string[] = [];
  let t = at(after);
  for (let i = 0; i < count; i++) {
    t = nextCronTime(spec, t, timezone);
    out.push(new Date(t).toISOString());
  }
  return out;
}

/** Which values of one field a cron fires on, read from its fire times over a window that holds each value once. */
function values(expression: string, field: "minute" | "hour" | "day" | "month" | "weekday"): number[] {
  const windows = {
    minute: ["2024-01-01T00:00:00Z", "2024-01-01T01:00:00Z", (d: Date) => d.getUTCMinutes()],
    hour: ["2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", (d: Date) => d.getUTCHours()],
    day: ["2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z", (d: Date) => d.getUTCDate()],
    month: ["2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z", (d: Date) => d.getUTCMonth() + 1],
    weekday: ["2024-06-02T00:00:00Z", "2024-06-09T00:00:00Z", (d: Date) => d.getUTCDay()], // Sunday to Sunday
  } as const;
  const [from, to, read] = windows[field];
  const spec = parseCron(expression);
  const seen = new Set<number>();
  for (let t = nextCronTime(spec, at(from) - 1); t < at(to); t = nextCronTime(spec, t)) seen.add(read(new Date(t)));
  return [...seen].sort((a, b) => a - b);
}

describe("parseCron: the five fields", () => {
  test("a star is every value of its field", () => {
    expect(values("* * * * *", "minute")).toHaveLength(60);
    expect(values("0 * * * *", "hour")).toHaveLength(24);
    expect(values("0 0 * * *", "day")).toEqual(Array.from({ length: 31 }, (_, i) => i + 1));
    expect(values("0 0 * * *", "month")).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(values("0 0 * * *", "weekday")).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  test("ranges, steps and lists", () => {
    expect(values("1-5 * * * *", "minute")).toEqual([1, 2, 3, 4, 5]);
    expect(values("*/15 * * * *", "minute")).toEqual([0, 15, 30, 45]);
    expect(values("10-30/10 * * * *", "minute")).toEqual([10, 20, 30]);
    expect(values("5/20 * * * *", "minute")).toEqual([5, 25, 45]); // a start with a step runs to the end
    expect(values("0 1,2,13-14,20-23/2 * * *", "hour")).toEqual([1, 2, 13, 14, 20, 22]);
    expect(values("0 0 1,15,31 * *", "day")).toEqual([1, 15, 31]);
    expect(values("0 0 1 */3 *", "month")).toEqual([1, 4, 7, 10]);
  });

  test("month and weekday names, in any case", () => {
    expect(values("0 0 1 JAN,jul,Dec *", "month")).toEqual([1, 7, 12]);
    expect(values("0 0 1 mar-MAY *", "month")).toEqual([3, 4, 5]);
    expect(values("0 9 * * MON-FRI", "weekday")).toEqual([1, 2, 3, 4, 5]);
    expect(values("0 9 * * sun,Sat", "weekday")).toEqual([0, 6]);
  });

  test("Sunday is both 0 and 7", () => {
    expect(values("0 0 * * 0", "weekday")).toEqual([0]);
    expect(values("0 0 * * 7", "weekday")).toEqual([0]);
    expect(values("0 0 * * 5-7", "weekday")).toEqual([0, 5, 6]);
    // 2024-06-02 is a Sunday: both spellings fire on it.
    expect(next("0 12 * * 7", "2024-05-29T00:00:00Z")).toBe("2024-06-02T12:00:00.000Z");
    expect(next("0 12 * * 0", "2024-05-29T00:00:00Z")).toBe("2024-06-02T12:00:00.000Z");
  });

  test("surrounding and repeated spaces are fine", () => {
    expect(values("  0   12 * *\t* ", "hour")).toEqual([12]);
  });

  test.each([
    ["* * * *", /5 fields.*it has 4/],
    ["* * * * * *", /5 fields.*it has 6/],
    ["", /5 fields/],
    ["60 * * * *", /minute "60".*from 0 to 59/],
    ["* 24 * * *", /hour "24".*from 0 to 23/],
    ["* * 0 * *", /day of month "0".*from 1 to 31/],
    ["* * 32 * *", /day of month "32"/],
    ["* * * 13 *", /month "13".*from 1 to 12/],
    ["* * * * 8", /day of week "8".*from 0 to 7/],
    ["* * * FOO *", /month "FOO"/],
    ["* * * * funday", /day of week "funday"/],
    ["a * * * *", /minute "a"/],
    ["-1 * * * *", /minute "-1"/],
    ["5-1 * * * *", /minute "5-1" is not valid: from value is larger than to value/],
    ["*/0 * * * *", /minute "\*\/0" is not valid: .*stepping/],
    ["*/x * * * *", /minute "\*\/x" is not valid/],
    ["0 0 L-2 * *", /day of month "L-2" is not valid/],
    ["@reboot", /@reboot is not supported/],
    ["1,,2 * * * *", /minute "1,,2"/],
    ["1.5 * * * *", /minute "1.5"/],
  ])("%j is refused with an error naming the field", (expression, message) => {
    expect(() => parseCron(expression)).toThrow(message);
  });
});

describe("what Vixie cron and Quartz add (refused before croner)", () => {
  test("nicknames: @hourly, @daily (@midnight), @weekly, @monthly, @yearly (@annually)", () => {
    expect(fires("@hourly", "2024-01-01T10:20:00Z", 2)).toEqual(["2024-01-01T11:00:00.000Z", "2024-01-01T12:00:00.000Z"]);
    expect(next("@daily", "2024-01-01T10:00:00Z")).toBe("2024-01-02T00:00:00.000Z");
    expect(next("@midnight", "2024-01-01T10:00:00Z", "Europe/Paris")).toBe("2024-01-01T23:00:00.000Z");
    expect(next("@weekly", "2024-06-04T00:00:00Z")).toBe("2024-06-09T00:00:00.000Z"); // Sunday
    expect(next("@monthly", "2024-01-15T00:00:00Z")).toBe("2024-02-01T00:00:00.000Z");
    expect(next("@yearly", "2024-01-15T00:00:00Z")).toBe("2025-01-01T00:00:00.000Z");
    expect(next("@annually", "2024-01-15T00:00:00Z")).toBe("2025-01-01T00:00:00.000Z");
  });

  test("L: the last day of the month, February's in leap years too", () => {
    expect(fires("0 0 L * *", "2024-01-15T00:00:00Z", 4)).toEqual([
      "2024-01-31T00:00:00.000Z",
      "2024-02-29T00:00:00.000Z",
      "2024-03-31T00:00:00.000Z",
      "2024-04-30T00:00:00.000Z",
    ]);
    expect(fires("0 0 L 2 *", "2024-01-01T00:00:00Z", 2)).toEqual(["2024-02-29T00:00:00.000Z", "2025-02-28T00:00:00.000Z"]);
  });

  test("5L: the last Friday of the month; LW: its last weekday", () => {
    expect(fires("0 0 * * 5L", "2024-01-01T00:00:00Z", 3)).toEqual(["2024-01-26T00:00:00.000Z", "2024-02-23T00:00:00.000Z", "2024-03-29T00:00:00.000Z"]);
    // 2024-03-31 is a Sunday.
    expect(next("0 0 LW 3 *", "2024-01-01T00:00:00Z")).toBe("2024-03-29T00:00:00.000Z");
  });

  test("#: the nth weekday of the month (the first Monday, the second Friday)", () => {
    expect(fires("0 9 * * MON#1", "2024-01-02T00:00:00Z", 3)).toEqual(["2024-02-05T09:00:00.000Z", "2024-03-04T09:00:00.000Z", "2024-04-01T09:00:00.000Z"]);
    expect(next("0 9 * * 5#2", "2024-01-01T00:00:00Z")).toBe("2024-01-12T09:00:00.000Z");
  });

  test("W: the weekday nearest a day of the month", () => {
    // 2024-06-15 is a Saturday: the nearest weekday is Friday the 14th.
    expect(next("0 0 15W 6 *", "2024-01-01T00:00:00Z")).toBe("2024-06-14T00:00:00.000Z");
  });
});

describe("checkTimezone", () => {
  test("IANA names pass", () => {
    for (const tz of ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]) expect(() => checkTimezone(tz)).not.toThrow();
  });

  test("an unknown timezone is refused with a hint", () => {
    expect(() => checkTimezone("Mars/Olympus_Mons")).toThrow(/unknown timezone "Mars\/Olympus_Mons".*IANA name/);
    expect(() => checkTimezone("")).toThrow(/unknown timezone/);
  });
});

describe("nextCronTime", () => {
  test("is strictly after the given time, on a whole minute", () => {
    expect(next("* * * * *", "2024-01-01T10:00:00Z")).toBe("2024-01-01T10:01:00.000Z");
    expect(next("* * * * *", "2024-01-01T10:00:59.999Z")).toBe("2024-01-01T10:01:00.000Z");
    expect(next("0 0 * * *", "2024-01-01T00:00:00Z")).toBe("2024-01-02T00:00:00.000Z");
    expect(next("0 0 * * *", "2023-12-31T23:59:59.999Z")).toBe("2024-01-01T00:00:00.000Z");
  });

  test("steps, ranges and lists, across hours, days, months and years", () => {
    expect(fires("*/15 * * * *", "2024-01-01T10:50:00Z", 3)).toEqual(["2024-01-01T11:00:00.000Z", "2024-01-01T11:15:00.000Z", "2024-01-01T11:30:00.000Z"]);
    expect(fires("30 9-10 * * *", "2024-01-01T10:30:00Z", 3)).toEqual(["2024-01-02T09:30:00.000Z", "2024-01-02T10:30:00.000Z", "2024-01-03T09:30:00.000Z"]);
    expect(fires("0 0 1 1,7 *", "2024-03-01T00:00:00Z", 3)).toEqual(["2024-07-01T00:00:00.000Z", "2025-01-01T00:00:00.000Z", "2025-07-01T00:00:00.000Z"]);
    expect(next("59 23 31 12 *", "2024-01-01T00:00:00Z")).toBe("2024-12-31T23:59:00.000Z");
  });

  test("the 31st fires only in months that have one", () => {
    expect(fires("0 0 31 * *", "2024-01-31T00:00:00Z", 3)).toEqual(["2024-03-31T00:00:00.000Z", "2024-05-31T00:00:00.000Z", "2024-07-31T00:00:00.000Z"]);
  });

  test("weekday names: Monday to Friday skips the weekend", () => {
    // 2024-06-07 is a Friday.
    expect(fires("0 9 * * MON-FRI", "2024-06-07T09:00:00Z", 2)).toEqual(["2024-06-10T09:00:00.000Z", "2024-06-11T09:00:00.000Z"]);
  });

  test("day of month and day of week both restricted: a day matching either fires", () => {
    // "midnight on the 13th, and on every Friday": 2024-09-06 and 2024-09-20 are Fridays, the 13th is one too.
    expect(fires("0 0 13 * 5", "2024-09-01T00:00:00Z", 4)).toEqual([
      "2024-09-06T00:00:00.000Z",
      "2024-09-13T00:00:00.000Z",
      "2024-09-20T00:00:00.000Z",
      "2024-09-27T00:00:00.000Z",
    ]);
    // With a 13th that is not a Friday (2024-10-13 is a Sunday).
    expect(fires("0 0 13 * 5", "2024-10-05T00:00:00Z", 3)).toEqual(["2024-10-11T00:00:00.000Z", "2024-10-13T00:00:00.000Z", "2024-10-18T00:00:00.000Z"]);
  });

  test("only one of the day fields restricted: that one decides", () => {
    expect(fires("0 0 13 * *", "2024-09-01T00:00:00Z", 2)).toEqual(["2024-09-13T00:00:00.000Z", "2024-10-13T00:00:00.000Z"]);
    expect(fires("0 0 * * 5", "2024-09-01T00:00:00Z", 2)).toEqual(["2024-09-06T00:00:00.000Z", "2024-09-13T00:00:00.000Z"]);
    expect(fires("0 0 ? * 5", "2024-09-01T00:00:00Z", 1)).toEqual(["2024-09-06T00:00:00.000Z"]);
  });

  test("February 29 fires only in leap years", () => {
    expect(next("0 0 29 2 *", "2024-01-01T00:00:00Z")).toBe("2024-02-29T00:00:00.000Z");
    expect(next("0 0 29 2 *", "2024-02-29T00:00:00Z")).toBe("2028-02-29T00:00:00.000Z");
    expect(next("0 12 29 FEB *", "2025-03-01T00:00:00Z")).toBe("2028-02-29T12:00:00.000Z");
  });

  test("a day that never comes (February 30) is an error, not a hang", () => {
    expect(() => next("0 0 30 2 *", "2024-01-01T00:00:00Z")).toThrow('cron expression "0 0 30 2 *" never fires: February has no day 30');
  });

  test("February 29 across 2100, which is no leap year: 8 years on", () => {
    expect(next("0 0 29 2 *", "2096-03-01T00:00:00Z")).toBe("2104-02-29T00:00:00.000Z");
  });

  describe("timezones: wall-clock time in the schedule's zone", () => {
    test("UTC by default", () => {
      expect(next("0 9 * * *", "2024-01-15T00:00:00Z")).toBe("2024-01-15T09:00:00.000Z");
      expect(next("0 9 * * *", "2024-01-15T00:00:00Z", "UTC")).toBe("2024-01-15T09:00:00.000Z");
    });

    test("a zone's offset, in winter and in summer", () => {
      expect(next("0 9 * * *", "2024-01-15T00:00:00Z", "Europe/Paris")).toBe("2024-01-15T08:00:00.000Z"); // UTC+1
      expect(next("0 9 * * *", "2024-07-15T00:00:00Z", "Europe/Paris")).toBe("2024-07-15T07:00:00.000Z"); // UTC+2
      expect(next("30 9 * * *", "2024-01-15T00:00:00Z", "Asia/Kolkata")).toBe("2024-01-15T04:00:00.000Z"); // UTC+5:30
      expect(next("0 9 * * *", "2024-01-15T00:00:00Z", "America/New_York")).toBe("2024-01-15T14:00:00.000Z"); // UTC-5
    });

    test("the day and weekday are the zone's, not UTC's", () => {
      // 2024-06-07 23:30 in New York is already Saturday 03:30 in UTC; a Friday 23:30 job fires then.
      expect(next("30 23 * * FRI", "2024-06-07T00:00:00Z", "America/New_York")).toBe("2024-06-08T03:30:00.000Z");
      // Midnight on the 1st in Tokyo is the 31st (or 30th) at 15:00 UTC.
      expect(next("0 0 1 * *", "2024-05-15T00:00:00Z", "Asia/Tokyo")).toBe("2024-05-31T15:00:00.000Z");
    });

    test("a daily job keeps its wall-clock time across the DST change", () => {
      // New York springs forward on 2024-03-10 (EST, UTC-5, to EDT, UTC-4).
      expect(fires("0 9 * * *", "2024-03-08T15:00:00Z", 4, "America/New_York")).toEqual([
        "2024-03-09T14:00:00.000Z",
        "2024-03-10T13:00:00.000Z",
        "2024-03-11T13:00:00.000Z",
        "2024-03-12T13:00:00.000Z",
      ]);
      // ...and falls back on 2024-11-03.
      expect(fires("0 9 * * *", "2024-11-02T00:00:00Z", 2, "America/New_York")).toEqual(["2024-11-02T13:00:00.000Z", "2024-11-03T14:00:00.000Z"]);
    });

    test("a DST gap does not make later days' runs go missing", () => {
      // From Sunday 2024-03-10 00:00 EST, the next Monday 00:30 is 2024-03-11 00:30 EDT.
      expect(next("30 0 * * MON", "2024-03-10T05:00:00Z", "America/New_York")).toBe("2024-03-11T04:30:00.000Z");
      expect(next("30 0 11 3 *", "2024-03-09T17:00:00Z", "America/New_York")).toBe("2024-03-11T04:30:00.000Z");
      expect(next("0 0 11 3 *", "2024-03-09T17:00:00Z", "America/New_York")).toBe("2024-03-11T04:00:00.000Z");
      // Paris springs forward on 2024-03-31 at 02:00.
      expect(next("15 0 1 4 *", "2024-03-30T12:00:00Z", "Europe/Paris")).toBe("2024-03-31T22:15:00.000Z");
    });

    test("a time inside the DST gap is skipped that day (docs/schedules.md)", () => {
      // 02:30 does not exist in New York on 2024-03-10: clocks go from 01:59 EST to 03:00 EDT.
      expect(fires("30 2 * * *", "2024-03-09T00:00:00Z", 3, "America/New_York")).toEqual([
        "2024-03-09T07:30:00.000Z",
        "2024-03-11T06:30:00.000Z",
        "2024-03-12T06:30:00.000Z",
      ]);
      // A zone whose midnight is the gap: Santiago goes from 2024-09-07 23:59 (UTC-4) to 2024-09-08 01:00 (UTC-3).
      expect(fires("0 0 * * *", "2024-09-07T12:00:00Z", 2, "America/Santiago")).toEqual(["2024-09-09T03:00:00.000Z", "2024-09-10T03:00:00.000Z"]);
      // The day's other times still fire.
      expect(fires("30 1,2,3 * * *", "2024-03-10T05:00:00Z", 3, "America/New_York")).toEqual([
        "2024-03-10T06:30:00.000Z", // 01:30 EST
        "2024-03-10T07:30:00.000Z", // 03:30 EDT
        "2024-03-11T05:30:00.000Z", // 01:30 EDT
      ]);
    });

    test("an hourly job in the DST gap just runs every hour that exists", () => {
      expect(fires("15 * * * *", "2024-03-10T06:00:00Z", 3, "America/New_York")).toEqual([
        "2024-03-10T06:15:00.000Z", // 01:15 EST
        "2024-03-10T07:15:00.000Z", // 03:15 EDT
        "2024-03-10T08:15:00.000Z",
      ]);
    });

    test("a time repeated when clocks fall back runs once", () => {
      // 01:30 happens twice in New York on 2024-11-03: at 05:30Z (EDT) and 06:30Z (EST).
      expect(fires("30 1 * * *", "2024-11-02T12:00:00Z", 3, "America/New_York")).toEqual([
        "2024-11-03T05:30:00.000Z",
        "2024-11-04T06:30:00.000Z",
        "2024-11-05T06:30:00.000Z",
      ]);
      // Asked between the two passes, it has already run: the next run is the next day's.
      expect(next("30 1 * * *", "2024-11-03T06:00:00Z", "America/New_York")).toBe("2024-11-04T06:30:00.000Z");
    });

    test("an hourly job runs in both passes of a repeated hour", () => {
      expect(fires("0 * * * *", "2024-11-03T04:30:00Z", 3, "America/New_York")).toEqual([
        "2024-11-03T05:00:00.000Z", // 01:00 EDT
        "2024-11-03T06:00:00.000Z", // 01:00 EST
        "2024-11-03T07:00:00.000Z", // 02:00 EST
      ]);
    });
  });
});

describe("whyCronNeverFires", () => {
  const why = (expression: string) => whyCronNeverFires(parseCron(expression));

  test("days that no month it allows has", () => {
    expect(why("0 0 30 2 *")).toBe("February has no day 30");
    expect(why("0 0 31 4 *")).toBe("April has no day 31");
    expect(why("0 0 30,31 2 *")).toBe("February has no day 30 or 31");
    expect(why("0 0 31 4,6,9,11 *")).toBe("none of the months it allows (April, June, September, November) has a day 31");
    expect(why("0 0 30W 2 *")).toBe("February has no day 30");
  });

  test("anything that comes round, if rarely", () => {
    for (const e of ["* * * * *", "0 0 29 2 *", "0 0 31 * *", "0 0 31 4,5 *", "0 0 * 2 *", "0 0 ? 2 MON", "0 0 L 2 *", "0 0 * 2 5#5", "@yearly"]) expect(why(e)).toBeUndefined();
    // With a day of week as well, a day matching either fires (Vixie cron): every Monday of February.
    expect(why("0 0 30 2 MON")).toBeUndefined();
  });

  test("agrees with nextCronTime, for every day of every month", () => {
    for (let month = 1; month <= 12; month++) {
      for (let day = 28; day <= 31; day++) {
        const spec = parseCron(`0 0 ${day} ${month} *`);
        let fires = true;
        try {
          nextCronTime(spec, Date.parse("2097-01-01T00:00:00Z"));
        } catch {
          fires = false;
        }
        expect([`${day}/${month}`, whyCronNeverFires(spec) === undefined]).toEqual([`${day}/${month}`, fires]);
      }
    }
  });
});
