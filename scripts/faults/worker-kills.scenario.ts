import fs from "node:fs";
import path from "node:path";
import { BIN } from "../../test/proof/proof-server";
import { ProofServer } from "../../test/proof/proof-server";
import { tempDir } from "../../test/e2e/harness";
import { writeFaultApp } from "./fault-app";
import { NodeProgram } from "./node-program";
import { describeTally, sleep, tally, type ScenarioResult } from "./scenario-result";
import { recordedCalls } from "./state-check";

const CALLER = path.join(__dirname, "fault-caller.cjs");
const TERMINAL = new Set(["succeeded", "failed", "cancelled", "timed_out"]);

/**
 * kill -9 random workers while CALLS calls of a deployed function with `retries: 3` run through
 * `lookup()` + `spawn` in a separate program: no caller may hang, every call must end in exactly
 * one recorded terminal state, and no input may run more than retries + 1 times.
 */
export async function workerKills(options: { calls: number; killEveryMs: [number, number]; boundMs: number }): Promise<ScenarioResult> {
  const started = Date.now();
  const failures: string[] = [];
  const notes: string[] = [];
  const server = await ProofServer.start();
  const marks = tempDir("faults-workers");
  let kills = 0;
  let hung = 0;
  let states = "";
  try {
    const file = writeFaultApp({ name: `faults-workers-${process.pid}`, marks, schedule: false, revision: 1, workMs: 60 });
    const deploy = new NodeProgram([BIN, "deploy", file], server.env, 60_000);
    const deployed = await deploy.exited;
    if (deployed.code !== 0) throw new Error(`deploy failed (${deployed.code}): ${deploy.stderr}`);

    const app = `faults-workers-${process.pid}`;
    const caller = new NodeProgram([CALLER, "spawn", app, String(options.calls), String(options.boundMs)], server.env, options.boundMs + 15_000);
    // Kill a random worker now and then until the caller is done.
    while (caller.running) {
      const [lo, hi] = options.killEveryMs;
      await sleep(lo + Math.random() * (hi - lo));
      const workers = server.childPids();
      if (!caller.running || workers.length === 0) continue;
      const victim = workers[Math.floor(Math.random() * workers.length)];
      try {
        process.kill(victim, "SIGKILL");
        kills++;
      } catch {
        // it exited by itself a moment ago
      }
    }
    const exit = await caller.exited;
    if (!server.alive) failures.push(`the server died (${server.exitDescription}) during the run`);
    const line = caller.stdout.trim().split("\n").pop() ?? "";
    if (caller.hung || exit.code !== 0 || !line.startsWith("{")) {
      hung = options.calls;
      failures.push(`the caller program ${caller.hung ? "hung and was killed" : `exited with ${exit.code ?? exit.signal}`}: ${caller.lastError}`);
      states = "unknown";
      return { scenario: "kill -9 random workers", calls: options.calls, kills, hung, states, seconds: (Date.now() - started) / 1000, failures, notes };
    }
    const { ids, outcomes } = JSON.parse(line) as { ids: string[]; outcomes: string[] };
    hung = outcomes.filter((o) => o === "hung").length;
    if (hung > 0) failures.push(`${hung} calls neither resolved nor rejected within ${options.boundMs / 1000} s`);
    const wrong = outcomes.filter((o) => o.startsWith("wrong"));
    if (wrong.length > 0) failures.push(`${wrong.length} calls returned a wrong value, e.g. ${wrong[0]}`);
    const errorKinds = tally(outcomes.filter((o) => o.startsWith("error")).map((o) => o.replace(/^error: /, "").replace(/:.*/s, "")));
    if (errorKinds.size > 0) notes.push(`errors the caller saw: ${describeTally(errorKinds)}`);
    const sample = outcomes.find((o) => o.startsWith("error"));
    if (sample) notes.push(`e.g. ${sample.slice(0, 200)}`);

    // Every call's final state is written within a tick of its end; a clean stop flushes the rest.
    await server.stop();
    const recorded = recordedCalls(server.home, "Faults.work");
    const stateTally = tally(ids.map((id) => recorded.get(id)?.state ?? "missing"));
    states = describeTally(stateTally);
    const unrecorded = ids.filter((id) => !recorded.has(id)).length;
    if (unrecorded > 0) failures.push(`${unrecorded} calls have no recorded state`);
    const notTerminal = ids.filter((id) => recorded.has(id) && !TERMINAL.has(recorded.get(id)!.state)).length;
    if (notTerminal > 0) failures.push(`${notTerminal} calls are still recorded "running" after they ended`);
    if (recorded.size !== ids.length) failures.push(`${recorded.size} calls recorded for ${ids.length} started`);
    // What the caller saw and what was recorded agree.
    const disagree = ids.filter((id, i) => (outcomes[i] === "ok") !== (recorded.get(id)?.state === "succeeded")).length;
    if (disagree > 0) failures.push(`${disagree} calls were recorded in a state other than the one their caller saw`);

    // Retries honoured: attempts recorded, and runs counted by the function itself.
    const maxRecorded = Math.max(0, ...[...recorded.values()].map((r) => r.attempts));
    if (maxRecorded > 4) failures.push(`a call was recorded with ${maxRecorded} attempts (retries: 3 allows 4)`);
    const runs = tally(fs.readFileSync(path.join(marks, "attempts"), "utf8").trim().split("\n"));
    const maxRuns = Math.max(...runs.values());
    if (maxRuns > 4) failures.push(`an input ran ${maxRuns} times (retries: 3 allows 4)`);
    const retried = [...runs.values()].filter((n) => n > 1).length;
    notes.push(`most attempts of one call: ${Math.max(maxRecorded, 1)} recorded, ${maxRuns} runs seen by the function; ${retried} inputs ran more than once`);
    return { scenario: "kill -9 random workers", calls: options.calls, kills, hung, states, seconds: (Date.now() - started) / 1000, failures, notes };
  } catch (error) {
    failures.push(`the scenario could not run: ${(error as Error).message}`);
    return { scenario: "kill -9 random workers", calls: options.calls, kills, hung, states: states || "unknown", seconds: (Date.now() - started) / 1000, failures, notes };
  } finally {
    await server.dispose();
  }
}
