import { checkTimezone, parseCron, UsageError, whyCronNeverFires, type ScheduleManifest } from "@stubrun/protocol";

/** Runs a deployed function on a cron schedule, in a timezone (UTC by default). */
export class Cron {
  readonly timezone: string;

  /**
   * @param expression five fields: minute hour day-of-month month day-of-week, e.g. "*\/5 * * * *"; or a
   *   nickname such as "@daily" (docs/schedules.md)
   * @param options.timezone an IANA timezone name. @default "UTC"
   */
  constructor(
    readonly expression: string,
    options: { timezone?: string } = {},
  ) {
    this.timezone = options.timezone ?? "UTC";
    try {
      // The checks the server makes at deploy (validate.ts), so a bad schedule fails when the file loads.
      const never = whyCronNeverFires(parseCron(expression));
      if (never !== undefined) throw new Error(`cron expression "${expression}" never fires: ${never}`);
      checkTimezone(this.timezone);
    } catch (error) {
      throw new UsageError(`new Cron(${JSON.stringify(expression)}): ${(error as Error).message}`);
    }
  }

  toManifest(): ScheduleManifest {
    return { kind: "cron", expression: this.expression, timezone: this.timezone };
  }
}

/** Runs a deployed function every so often, counting from the latest deploy. */
export class Period {
  /** The period in seconds. */
  readonly seconds: number;

  constructor(period: { seconds?: number; minutes?: number; hours?: number; days?: number }) {
    const parts = [period?.seconds ?? 0, (period?.minutes ?? 0) * 60, (period?.hours ?? 0) * 3600, (period?.days ?? 0) * 86400];
    this.seconds = parts.reduce((a, b) => a + b, 0);
    if (parts.some((p) => typeof p !== "number" || !Number.isFinite(p) || p < 0) || !(this.seconds >= 1)) {
      throw new UsageError(`new Period(${JSON.stringify(period)}): give a period of at least 1 second, like new Period({ minutes: 5 })`);
    }
  }

  toManifest(): ScheduleManifest {
    return { kind: "period", seconds: this.seconds };
  }
}
