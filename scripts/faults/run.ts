/**
 * `npm run faults [-- --quick]`: the fault runs of issue 7. Each starts its own server with its
 * own STUBRUN_HOME on a free port, kills things with SIGKILL, and checks what a user relies on
 * (SPEC §3, DESIGN §5): no caller hangs, every call ends in one recorded state, retries are
 * honoured, and a restarted server has every deployed app, version and schedule back.
 * Prints a summary table; exits 1 when any check failed.
 */
import { removeTempDirs } from "../../test/e2e/harness";
import type { ScenarioResult } from "./scenario-result";
import { serverKills } from "./server-kills.scenario";
import { workerKills } from "./worker-kills.scenario";

const quick = process.argv.includes("--quick");
/** `--only=workers` or `--only=server` runs one group of scenarios. */
const only = /^--only=(\w+)$/.exec(process.argv.find((a) => a.startsWith("--only=")) ?? "")?.[1];

async function main(): Promise<number> {
  const started = Date.now();
  const results: ScenarioResult[] = [];
  console.error(`faults: ${quick ? "quick" : "full"} run`);
  if (only !== "server") results.push(await workerKills({ calls: 1000, killEveryMs: quick ? [40, 160] : [20, 100], boundMs: 120_000 }));
  print(results.slice(-1));
  if (only !== "workers") results.push(...(await serverKills({ deployKills: quick ? 2 : 6 })));
  removeTempDirs();

  console.log("");
  print(results);
  const failed = results.filter((r) => r.failures.length > 0);
  console.log(`\n${results.length} scenarios, ${failed.length} failed, ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return failed.length > 0 ? 1 : 0;
}

function print(results: ScenarioResult[]): void {
  const rows = results.map((r) => [r.scenario, String(r.calls), String(r.kills), String(r.hung), r.states, r.seconds.toFixed(1), r.failures.length ? "FAIL" : "ok"]);
  const head = ["scenario", "calls", "kills", "hung", "states", "time s", "result"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  console.log(head.map((h, i) => h.padEnd(widths[i])).join(" | "));
  console.log(widths.map((w) => "-".repeat(w)).join("-|-"));
  for (const row of rows) console.log(row.map((c, i) => c.padEnd(widths[i])).join(" | "));
  for (const r of results) {
    for (const note of r.notes) console.log(`  ${r.scenario}: ${note}`);
    for (const failure of r.failures) console.log(`  FAIL ${r.scenario}: ${failure}`);
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
