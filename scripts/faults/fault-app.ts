import { writeFixture } from "../../test/e2e/harness";

/**
 * The app the fault runs deploy: `Faults.work(x)` (retries: 3) records each attempt in
 * `MARKS/attempts` and returns 2x after a short wait; with `schedule`, `Faults.tick` runs every
 * second and records its start and end in `MARKS/ticks`. `revision` changes the code, so each
 * deploy of a new revision is a new version; `padKb` pads the upload.
 */
export function writeFaultApp(options: { name: string; marks: string; schedule: boolean; revision: number; workMs?: number; padKb?: number }): string {
  const tick = options.schedule
    ? `
  @stub.function({ schedule: new Period({ seconds: 1 }) })
  async tick(): Promise<void> {
    fs.appendFileSync(MARKS + "/ticks", "start " + Date.now() + "\\n");
    await new Promise((r) => setTimeout(r, 400));
    fs.appendFileSync(MARKS + "/ticks", "end " + Date.now() + "\\n");
  }
`
    : "";
  const source = `import { Period, Stub } from "stubrun";
import fs from "node:fs";

const stub = new Stub(${JSON.stringify(options.name)});
const MARKS = ${JSON.stringify(options.marks)};
export const REVISION = ${options.revision};
// Padding makes the upload big enough that a kill can land while the server takes it in.
export const PAD = ${JSON.stringify("x".repeat((options.padKb ?? 0) * 1024))};
void Period;

class Faults {
  @stub.function({ retries: 3 })
  async work(x: number): Promise<number> {
    fs.appendFileSync(MARKS + "/attempts", x + "\\n");
    await new Promise((r) => setTimeout(r, ${options.workMs ?? 20}));
    return x * 2;
  }
${tick}}
`;
  return writeFixture(`${options.name}.ts`, source);
}
