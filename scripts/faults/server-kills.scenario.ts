import fs from "node:fs";
import path from "node:path";
import { tempDir } from "../../test/e2e/harness";
import { BIN, processAlive, ProofServer, strayServers } from "../../test/proof/proof-server";
import { writeFaultApp } from "./fault-app";
import { NodeProgram } from "./node-program";
import { sleep, type ScenarioResult } from "./scenario-result";
import { checkStoredState } from "./state-check";

const CALLER = path.join(__dirname, "fault-caller.cjs");
/** How long a client of a killed server may take to give up. */
const CLIENT_BOUND_MS = 60_000;
/** What a clear error about a lost server says. */
const CLEAR_ERROR = /server|connection|reach/i;

/**
 * kill -9 the server during a deploy, during a `.map`, and during a schedule tick (a Period of
 * 1 s), then start it again on the same home. After each restart: every deployed app, version
 * and schedule is back (versions 1..N, each one's code on disk, the app callable, the schedule
 * firing again), no call of the killed server is left "running", the workers of the killed
 * server are gone, and the killed server's client exited with a clear error instead of hanging.
 */
export async function serverKills(options: { deployKills: number }): Promise<ScenarioResult[]> {
  const server = await ProofServer.start();
  const marks = tempDir("faults-server");
  const name = `faults-server-${process.pid}`;
  let revision = 1;
  let expectedVersion = 0;
  const rows: ScenarioResult[] = [];
  const row = (scenario: string): ScenarioResult => {
    const r: ScenarioResult = { scenario, calls: 0, kills: 0, hung: 0, states: "", seconds: 0, failures: [], notes: [] };
    rows.push(r);
    return r;
  };

  const ticks = (): string[] => (fs.existsSync(path.join(marks, "ticks")) ? fs.readFileSync(path.join(marks, "ticks"), "utf8").trim().split("\n").filter(Boolean) : []);
  const attempts = (): number => (fs.existsSync(path.join(marks, "attempts")) ? fs.readFileSync(path.join(marks, "attempts"), "utf8").split("\n").length - 1 : 0);

  const deploy = (): NodeProgram => new NodeProgram([BIN, "deploy", writeFaultApp({ name, marks, schedule: true, revision: revision++, padKb: 4096 })], server.env, CLIENT_BOUND_MS);

  /** kill -9 the server; returns the pids of its workers at that moment. */
  const kill = async (r: ScenarioResult): Promise<number[]> => {
    const workers = server.childPids();
    await server.kill9();
    r.kills++;
    return workers;
  };

  /** The checks after each restart. */
  const restartAndVerify = async (r: ScenarioResult, workers: number[]): Promise<void> => {
    const killedAt = Date.now();
    // A client that found no server (it connected after the kill) starts a daemon of its own on
    // this home, as SPEC §4 says; it must go before the restart takes the port again.
    for (const stray of strayServers(server.home, server.pid)) {
      r.notes.push(`a client that came after the kill started its own daemon on this home (pid ${stray.pid}, ${stray.startedAgoMs} ms before the restart); stopped`);
      process.kill(stray.pid, "SIGKILL");
      // SIGKILL is delivered, not yet done: the restart must not find it still holding the home's lock.
      for (const deadline = Date.now() + 5_000; processAlive(stray.pid) && Date.now() < deadline; ) await sleep(20);
    }
    await server.restart();
    await sleep(5_000 - Math.min(5_000, Date.now() - killedAt)); // workers notice the lost IPC channel and leave
    const orphans = workers.filter(processAlive);
    if (orphans.length > 0) r.failures.push(`${orphans.length} of the killed server's ${workers.length} workers still run 5 s later`);
    for (const pid of orphans) process.kill(pid, "SIGKILL");

    const restartedAt = Date.now();
    const stored = checkStoredState(server.home, killedAt);
    r.failures.push(...stored.problems);
    if (stored.runningBefore > 0) r.failures.push(`${stored.runningBefore} calls of the killed server are still recorded "running" after the restart`);
    const app = stored.deployedApps.find((a) => a.name === name);
    if (!app) r.failures.push(`app ${name} is not deployed after the restart`);
    else if (app.version < expectedVersion) r.failures.push(`app ${name} is at version ${app.version} after the restart, but version ${expectedVersion} was deployed`);
    else expectedVersion = app.version;
    const listed = (await (await server.api("/api/apps")).json()) as { name: string | null; state: string; version: number }[];
    const served = listed.find((a) => a.name === name && a.state === "deployed");
    if (!served || served.version !== expectedVersion) r.failures.push(`GET /api/apps shows ${JSON.stringify(served)} for ${name}, expected deployed at version ${expectedVersion}`);

    const probe = new NodeProgram([CALLER, "spawn", name, "3", "30000"], server.env, 45_000);
    await probe.exited;
    const outcomes = probe.stdout.startsWith("{") ? (JSON.parse(probe.stdout) as { outcomes: string[] }).outcomes : [];
    if (outcomes.length !== 3 || outcomes.some((o) => o !== "ok")) r.failures.push(`calls after the restart did not succeed: ${outcomes.join("; ") || probe.lastError}`);

    const tickedAgain = await waitFor(() => ticks().some((l) => l.startsWith("start ") && Number(l.slice(6)) > restartedAt), 15_000);
    if (!tickedAgain) r.failures.push("the 1 s schedule did not fire within 15 s of the restart");
    const staging = fs.readdirSync(path.join(server.home, "code")).filter((e) => e.includes(".tmp-"));
    if (staging.length > 0) r.notes.push(`${staging.length} staging folder(s) left in $STUBRUN_HOME/code`);
    r.notes.push(`after restart: ${stored.deployedApps.length} deployed app(s), ${stored.versions} version(s), ${stored.schedules} schedule(s)`);
  };

  /** The client of the killed server must have exited by itself, with a clear error unless it had finished. */
  const judgeClient = (r: ScenarioResult, client: NodeProgram, exit: { code: number | null }, what: string): boolean => {
    if (client.hung) {
      r.hung++;
      r.failures.push(`the ${what} client hung after the server was killed (killed after ${CLIENT_BOUND_MS / 1000} s)`);
      return false;
    }
    if (exit.code === 0) return true;
    r.notes.push(`${what} client: exit ${exit.code} in ${((client.endedAt - client.startedAt) / 1000).toFixed(1)} s, "${client.lastError.slice(0, 160)}"`);
    if (!CLEAR_ERROR.test(client.lastError)) r.failures.push(`the ${what} client's error does not say the server was lost: "${client.lastError}"`);
    return false;
  };

  try {
    // Version 1, and the schedule firing, before anything is killed.
    const first = deploy();
    if ((await first.exited).code !== 0) throw new Error(`the first deploy failed: ${first.stderr}`);
    const deployMs = first.endedAt - first.startedAt;
    expectedVersion = 1;
    if (!(await waitFor(() => ticks().length > 0, 15_000))) throw new Error("the 1 s schedule never fired");

    // 1. During a deploy: at a random moment of the time a deploy takes.
    const d = row("kill -9 server during deploy");
    const t0 = Date.now();
    for (let i = 0; i < options.deployKills; i++) {
      const codeDirs = codeEntries(server.home);
      const client = deploy();
      d.calls++;
      // Even rounds: the moment the server starts writing the upload's code; odd: a random moment of a deploy's time.
      if (i % 2 === 0) await waitFor(() => codeEntries(server.home) > codeDirs || !client.running, 30_000, 1);
      else await sleep(deployMs * (0.4 + Math.random() * 0.7));
      const workers = await kill(d);
      const exit = await client.exited;
      if (judgeClient(d, client, exit, "deploy")) expectedVersion++; // it finished before the kill
      await restartAndVerify(d, workers);
    }
    d.states = `${expectedVersion - 1} of ${d.calls} deploys finished before the kill`;
    d.seconds = (Date.now() - t0) / 1000;

    // 2. During a .map of 3,000 inputs, once a hundred have run.
    const m = row("kill -9 server during .map");
    const t1 = Date.now();
    const before = attempts();
    const mapper = new NodeProgram([CALLER, "map", name, "3000"], server.env, CLIENT_BOUND_MS * 3);
    if (!(await waitFor(() => attempts() - before >= 100 || !mapper.running, 60_000))) m.failures.push("the .map never got going");
    const killedAt = Date.now();
    const mapWorkers = await kill(m);
    m.calls = attempts() - before;
    const mapExit = await mapper.exited;
    m.notes.push(`.map client ended ${mapper.endedAt - killedAt} ms after the kill, ${mapper.endedAt - mapper.startedAt} ms after it started; ${attempts() - before} inputs had run by then`);
    if (judgeClient(m, mapper, mapExit, ".map") && mapExit.code === 0) {
      m.failures.push(`the .map client exited 0 after its server was killed: stdout "${mapper.stdout.trim().slice(-200)}", stderr "${mapper.lastError.slice(0, 200)}"`);
    }
    await restartAndVerify(m, mapWorkers);
    m.states = `${m.calls} inputs ran before the kill`;
    m.seconds = (Date.now() - t1) / 1000;

    // 3. During a schedule tick: after a "start" with no "end" yet.
    const s = row("kill -9 server during schedule tick");
    const t2 = Date.now();
    const seen = ticks().length;
    const inTick = await waitFor(() => {
      const lines = ticks();
      return lines.length > seen && lines[lines.length - 1].startsWith("start ");
    }, 15_000);
    if (!inTick) s.failures.push("no tick started within 15 s");
    const tickWorkers = await kill(s);
    s.calls = 1;
    await restartAndVerify(s, tickWorkers);
    s.states = `${ticks().filter((l) => l.startsWith("start")).length} ticks in all`;
    s.seconds = (Date.now() - t2) / 1000;
  } catch (error) {
    (rows[rows.length - 1] ?? row("kill -9 server")).failures.push(`the scenario could not run: ${(error as Error).message}\n${server.log.slice(-2000)}`);
  } finally {
    await server.dispose();
  }
  return rows;
}

async function waitFor(check: () => boolean, timeoutMs: number, intervalMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await sleep(intervalMs);
  }
  return check();
}

/** How many entries (code directories, staging folders) `$STUBRUN_HOME/code` has. */
function codeEntries(home: string): number {
  try {
    return fs.readdirSync(path.join(home, "code")).length;
  } catch {
    return 0;
  }
}
