import { nextFireTime } from "../src/schedules/scheduler";

/**
 * SPEC §3 Schedules: "A `Period` counts from the latest deploy; a `Cron` keeps wall-clock time in
 * its timezone. Runs missed while the server was down are skipped, not caught up."
 */

const SECOND = 1000;
const deployedAt = Date.parse("2024-05-01T12:00:00.250Z");

describe("nextFireTime: a Period", () => {
  const every10s = { kind: "period", seconds: 10 } as const;

  test("the first run is one period after the deploy", () => {
    expect(nextFireTime(every10s, deployedAt, deployedAt)).toBe(deployedAt + 10 * SECOND);
    expect(nextFireTime(every10s, deployedAt, deployedAt + 1)).toBe(deployedAt + 10 * SECOND);
    expect(nextFireTime(every10s, deployedAt, deployedAt + 9_999)).toBe(deployedAt + 10 * SECOND);
  });

  test("later runs keep to the deploy's beat, not to whole seconds or minutes of the clock", () => {
    expect(nextFireTime(every10s, deployedAt, deployedAt + 10 * SECOND)).toBe(deployedAt + 20 * SECOND);
    expect(nextFireTime(every10s, deployedAt, deployedAt + 15_500)).toBe(deployedAt + 20 * SECOND);
    expect(nextFireTime(every10s, deployedAt, deployedAt + 20 * SECOND + 1)).toBe(deployedAt + 30 * SECOND);
  });

  test("runs missed (the server was down) are skipped: the next time is in the future, on the beat", () => {
    const daily = { kind: "period", seconds: 86_400 } as const;
    const now = deployedAt + 3 * 86_400 * SECOND + 5 * 3600 * SECOND; // three days and five hours later
    const next = nextFireTime(daily, deployedAt, now);
    expect(next).toBe(deployedAt + 4 * 86_400 * SECOND);
    expect(next).toBeGreaterThan(now);

    for (const late of [1, 7_777, 123_456_789, 10 * 365 * 86_400 * SECOND]) {
      const t = nextFireTime(every10s, deployedAt, deployedAt + late);
      expect(t).toBeGreaterThan(deployedAt + late);
      expect(t - (deployedAt + late)).toBeLessThanOrEqual(10 * SECOND);
      expect((t - deployedAt) % (10 * SECOND)).toBe(0);
    }
  });

  test("counts from the latest deploy: a redeploy restarts the beat", () => {
    const redeployedAt = deployedAt + 4_321;
    expect(nextFireTime(every10s, redeployedAt, redeployedAt + 1)).toBe(redeployedAt + 10 * SECOND);
    expect(nextFireTime(every10s, redeployedAt, redeployedAt + 25 * SECOND)).toBe(redeployedAt + 30 * SECOND);
  });

  test("a clock that reads before the deploy still waits a whole period from the deploy", () => {
    expect(nextFireTime(every10s, deployedAt, deployedAt - 60 * SECOND)).toBe(deployedAt + 10 * SECOND);
  });

  test("periods in minutes, hours and days", () => {
    expect(nextFireTime({ kind: "period", seconds: 300 }, deployedAt, deployedAt + 299_999)).toBe(deployedAt + 300 * SECOND);
    expect(nextFireTime({ kind: "period", seconds: 3 * 86_400 }, deployedAt, deployedAt + 86_400 * SECOND)).toBe(deployedAt + 3 * 86_400 * SECOND);
  });
});

describe("nextFireTime: a Cron", () => {
  test("keeps to the wall clock, whatever the deploy time", () => {
    const cron = { kind: "cron", expression: "*/5 * * * *", timezone: "UTC" } as const;
    const now = Date.parse("2024-05-01T12:03:10Z");
    expect(nextFireTime(cron, deployedAt, now)).toBe(Date.parse("2024-05-01T12:05:00Z"));
    expect(nextFireTime(cron, now - 7 * SECOND, now)).toBe(Date.parse("2024-05-01T12:05:00Z"));
  });

  test("in its timezone", () => {
    const cron = { kind: "cron", expression: "0 9 * * *", timezone: "Europe/Paris" } as const;
    expect(nextFireTime(cron, deployedAt, Date.parse("2024-05-01T12:00:00Z"))).toBe(Date.parse("2024-05-02T07:00:00Z"));
  });

  test("runs missed are skipped: the next time is after now", () => {
    const cron = { kind: "cron", expression: "0 * * * *", timezone: "UTC" } as const;
    const now = deployedAt + 50 * 3600 * SECOND + 1;
    const next = nextFireTime(cron, deployedAt, now);
    expect(next).toBeGreaterThan(now);
    expect(next - now).toBeLessThanOrEqual(3600 * SECOND);
  });
});
