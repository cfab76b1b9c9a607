import type { AppOwner, CallListener } from "../src/apps/app-manager";
import type { CallOutcome } from "../src/dispatcher/dispatcher";
import { AppSummaries } from "../src/http/app-summary";
import { files, fn, manifest, withAppWorld, type AppWorld } from "./app-fixtures";

/**
 * The AppManager on a fake dispatcher and a temp SQLite: what a client sees of its apps and
 * calls (replies, refusals, outcomes), and what is recorded of them (app state, calls, logs).
 */

let world: AppWorld;
withAppWorld((w) => (world = w));

/** A client that keeps what it is told. */
class Client implements CallListener, AppOwner {
  readonly outputs: string[] = [];
  readonly results = new Map<string, CallOutcome>();
  readonly appOutputs: string[] = [];
  output(callId: string, stream: string, data: string): void {
    this.outputs.push(`${callId} ${stream} ${data}`);
  }
  result(callId: string, outcome: CallOutcome): void {
    this.results.set(callId, outcome);
  }
  appOutput(_appId: string, functionName: string, _stream: string, data: string): void {
    this.appOutputs.push(`${functionName}: ${data}`);
  }
}

const ok: CallOutcome = { state: "succeeded", value: { t: "json", v: 1 } as never };

describe("AppManager", () => {
  test("create stores an ephemeral app, serves it, and warms the keepWarm functions", () => {
    const client = new Client();
    const app = world.manager.create(manifest([fn("A.f"), fn("A.g", { keepWarm: 1 })]), files(), { detach: false, owner: client });
    expect(world.appsRepo.get(app.id)).toMatchObject({ state: "ephemeral", version: 1, createdAt: Date.parse("2031-01-01T00:00:00Z") });
    expect(world.manager.isRunning(app.id)).toBe(true);
    expect(world.dispatcher.warm).toEqual([`${app.id} A.g`]);
  });

  test("an upload without its entry file, or naming a function twice, is refused and nothing is stored", () => {
    const client = new Client();
    expect(() => world.manager.create({ ...manifest([fn("A.f")]), entry: "other.js" }, files(), { detach: false, owner: client })).toThrow(
      'the upload has no entry file "other.js"',
    );
    expect(() => world.manager.create(manifest([fn("A.f"), fn("A.f")]), files(), { detach: false, owner: client })).toThrow("the manifest names function A.f twice");
    expect(world.appsRepo.list()).toEqual([]);
  });

  test("a call's output reaches its client and the app's logs; its result is recorded and delivered", () => {
    const client = new Client();
    const app = world.manager.create(manifest([fn("A.f")]), files(), { detach: false, owner: client });
    const callId = world.manager.startCall(app.id, "A.f", [], client);
    const { observer } = world.dispatcher.queued.get(callId)!;
    observer.output("stdout", "hello\n");
    world.dispatcher.finish(callId, ok);
    expect(client.outputs).toEqual([`${callId} stdout hello\n`]);
    expect(client.results.get(callId)).toEqual(ok);
    expect(world.callsRepo.recent(app.id)).toEqual([expect.objectContaining({ id: callId, functionName: "A.f", state: "succeeded" })]);
    expect(world.logLines(app.id)).toContain("hello");
  });

  test("a failed call's error is written to the app's logs, and retries count its attempts", () => {
    const client = new Client();
    const app = world.manager.create(manifest([fn("A.f")]), files(), { detach: false, owner: client });
    const callId = world.manager.startCall(app.id, "A.f", [], client);
    const { observer } = world.dispatcher.queued.get(callId)!;
    observer.attempt?.(2);
    world.dispatcher.finish(callId, { state: "timed_out", error: { name: "TimeoutError", message: "ran over 1 s" } });
    expect(world.callsRepo.recent(app.id)[0]).toMatchObject({ state: "timed_out", attempts: 2, error: "TimeoutError: ran over 1 s" });
    expect(world.logLines(app.id)).toContain(`A.f call ${callId} timed out: TimeoutError: ran over 1 s`);
  });

  test("an unknown function is refused naming the ones there are; a full queue refuses before anything is recorded", () => {
    const client = new Client();
    const app = world.manager.create(manifest([fn("A.f"), fn("A.g")], "named"), files(), { detach: false, owner: client });
    expect(() => world.manager.startCall(app.id, "A.h", [], client)).toThrow(`app named (${app.id}) has no function A.h; its functions are: A.f, A.g`);
    world.dispatcher.full = true;
    expect(() => world.manager.startCall(app.id, "A.f", [], client)).toThrow("too many queued calls");
    world.callsRepo.flush();
    expect(world.callsRepo.recent(app.id)).toEqual([]);
  });

  test("stop cancels the app's calls, marks it stopped with a last log line, and refuses calls after", async () => {
    const client = new Client();
    const app = world.manager.create(manifest([fn("A.f")]), files(), { detach: false, owner: client });
    const callId = world.manager.startCall(app.id, "A.f", [], client);
    expect(await world.manager.stop(app.id)).toBe(true);
    expect(client.results.get(callId)?.state).toBe("cancelled");
    expect(world.appsRepo.get(app.id)?.state).toBe("stopped");
    expect(world.logLines(app.id).at(-1)).toBe(`app ${app.id} stopped`);
    expect(() => world.manager.startCall(app.id, "A.f", [], client)).toThrow(`app ${app.id} is stopped`);
    expect(await world.manager.stop(app.id)).toBe(false);
  });

  test("when its client goes, an ephemeral app stops; a detached one lives until its last call ends", async () => {
    const client = new Client();
    const ephemeral = world.manager.create(manifest([fn("A.f")]), files(), { detach: false, owner: client });
    const detached = world.manager.create(manifest([fn("A.f")]), files("1"), { detach: true, owner: client });
    const callId = world.manager.startCall(detached.id, "A.f", [], client);
    await world.manager.ownerGone(client);
    expect(world.manager.isRunning(ephemeral.id)).toBe(false);
    expect(world.manager.isRunning(detached.id)).toBe(true);
    world.dispatcher.finish(callId, ok);
    await Promise.resolve();
    expect(world.manager.isRunning(detached.id)).toBe(false);
    expect(world.appsRepo.get(detached.id)?.state).toBe("stopped");
  });

  test("a worker's output outside calls goes to the app's client and its logs", () => {
    const client = new Client();
    const app = world.manager.create(manifest([fn("A.f")]), files(), { detach: false, owner: client });
    world.manager.workerOutput(app.id, "A.f", "stdout", "entered\n");
    expect(client.appOutputs).toEqual(["A.f: entered\n"]);
    expect(world.logLines(app.id)).toContain("entered");
  });

  test("new code: new calls run it, the old code's pools are retired, and pinned versions still run the old code", () => {
    const deployed = world.deployer.deploy(manifest([fn("A.f")], "pinned"), files("1"));
    const client = new Client();
    world.deployer.deploy(manifest([fn("A.f"), fn("A.g")], "pinned"), files("2"));
    expect(world.dispatcher.retired).toHaveLength(1);
    const current = world.manager.startCall(deployed.appId, "A.g", [], client);
    const pinned = world.manager.startCall(deployed.appId, "A.f", [], client, 1);
    expect(world.dispatcher.queued.get(current)!.call.code.dir).not.toBe(world.dispatcher.queued.get(pinned)!.call.code.dir);
    expect(() => world.manager.startCall(deployed.appId, "A.g", [], client, 1)).toThrow("has no function A.g");
    expect(() => world.manager.startCall(deployed.appId, "A.f", [], client, 7)).toThrow(`app pinned (${deployed.appId}) has no version 7; it is at version 2`);
  });

  test("a stored deployed app that cannot be served is failed, says why, and is served again by its next deploy", async () => {
    const first = world.deployer.deploy(manifest([fn("A.f")], "broken"), files("1"));
    await world.manager.shutdown(); // as a server restart: the app stays deployed
    const record = world.appsRepo.get(first.appId)!;
    world.manager.restore({ ...record, manifest: { ...record.manifest, functions: [fn("A.f", { timeout: 10 ** 9 })] } });
    expect(world.manager.stateOf(record)).toBe("failed");
    expect(world.manager.failure(record.id)).toContain('option "timeout"');
    expect(() => world.manager.runningApp(record.id)).toThrow(`app broken (${record.id}) failed to start`);
    const again = world.deployer.deploy(manifest([fn("A.f")], "broken"), files("1"));
    expect(again).toMatchObject({ changed: true, changes: "deployed again after a failed start", version: 2 });
    expect(world.manager.stateOf(world.appsRepo.get(record.id)!)).toBe("deployed");
  });

  test("shutdown stops ephemeral apps for good and leaves deployed ones deployed", async () => {
    const client = new Client();
    const ephemeral = world.manager.create(manifest([fn("A.f")]), files(), { detach: false, owner: client });
    const deployed = world.deployer.deploy(manifest([fn("A.f")], "kept"), files("2"));
    await world.manager.shutdown();
    expect(world.appsRepo.get(ephemeral.id)?.state).toBe("stopped");
    expect(world.appsRepo.get(deployed.appId)?.state).toBe("deployed");
    expect(world.dispatcher.stopped.sort()).toEqual([ephemeral.id, deployed.appId].sort());
  });

  test("listeners hear of changes and stops; workerCount is the dispatcher's count of the app's workers", async () => {
    const heard: string[] = [];
    world.manager.listen({ appChanged: (r) => heard.push(`changed ${r.version}`), appStopped: () => heard.push("stopped") });
    const client = new Client();
    const app = world.manager.create(manifest([fn("A.f")]), files(), { detach: false, owner: client });
    world.manager.startCall(app.id, "A.f", [], client);
    expect(world.manager.workerCount(app.id)).toBe(1);
    await world.manager.stop(app.id);
    expect(heard).toEqual(["changed 1", "stopped"]);
  });

  test("summaries show each app's state as this server knows it, newest first", async () => {
    const client = new Client();
    const stopped = world.manager.create(manifest([fn("A.f")]), files("1"), { detach: false, owner: client });
    await world.manager.stop(stopped.id);
    jest.setSystemTime(Date.parse("2031-01-01T00:01:00Z"));
    const running = world.manager.create(manifest([fn("A.f"), fn("A.g")], "svc"), files("2"), { detach: true, owner: client });
    world.manager.startCall(running.id, "A.f", [], client);
    const summaries = new AppSummaries(world.appsRepo, world.manager);
    expect(summaries.list()).toEqual([
      { id: running.id, name: "svc", env: "main", state: "detached", version: 1, createdAt: "2031-01-01T00:01:00.000Z", stoppedAt: null, runningTasks: 1, functions: ["A.f", "A.g"] },
      expect.objectContaining({ id: stopped.id, state: "stopped", stoppedAt: "2031-01-01T00:00:00.000Z", runningTasks: 0 }),
    ]);
  });
});
