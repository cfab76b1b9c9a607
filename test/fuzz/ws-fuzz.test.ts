import fc from "fast-check";
import { ProofServer } from "../proof/proof-server";
import { RawClient } from "../proof/raw-client";
import { deployFuzzApps, fuzzRuns, SteadyTraffic, type FuzzApps } from "./fuzz-setup";
import { checkProperty, clip } from "./fuzz-report";
import { wsFrames } from "./ws-arbitraries";

/**
 * Issue 7, "prove it holds": malformed, truncated, oversized, deeply nested and out-of-order
 * frames on the WebSocket (a raw `ws` client, no SDK) while another app's calls run. The server
 * must answer after every run (on the same connection, or on a new one when it closed that one
 * for cause), and the other app's calls must all finish with the right values.
 * `FUZZ_RUNS=10000` (npm run fuzz) for the full run.
 */

const RUNS = fuzzRuns(1_500);

let server: ProofServer;
let apps: FuzzApps;
let steady: SteadyTraffic;

beforeAll(async () => {
  server = await ProofServer.start();
  apps = await deployFuzzApps(server, "wsfuzz");
  steady = new SteadyTraffic(server, apps.steady);
}, 120_000);

afterAll(async () => {
  steady?.kill();
  await server?.dispose();
});

test(`${RUNS} runs of hostile WebSocket frames leave the server up and another app's calls undisturbed`, async () => {
  /** A new connection; a refused one is a failure that says whether the server is still there. */
  const open = async (): Promise<RawClient> => {
    try {
      return await RawClient.open(server.wsUrl, server.home);
    } catch (error) {
      await Promise.race([server.exited(), new Promise((r) => setTimeout(r, 1_000))]);
      throw new Error(
        `a new connection failed (${(error as Error).message}); the server ${server.alive ? "is up" : `died (${server.exitDescription})`}.\n` +
          `The last runs sent:\n${recent.join("\n")}\nServer log:\n${server.log.slice(-3000)}`,
      );
    }
  };
  /** What the last few runs sent, since the run that is caught is not always the one that did the harm. */
  const recent: string[] = [];
  let client = await open();
  const targetAppId = await client.lookup(apps.target, "Target.echo");
  let frames = 0;
  let reconnects = 0;
  const started = Date.now();
  await checkProperty(
    fc.asyncProperty(wsFrames({ appId: targetAppId, functions: ["Target.echo", "Target.inc", "Target.get", "Target.post"] }), async (sends) => {
      if (!client.open) {
        client = await open();
        reconnects++;
      }
      recent.push(sends.map((s) => `${s.binary ? "binary" : "text"} ${s.data.length} B: ${clip(String(s.data), 160)}`).join(" + "));
      if (recent.length > 5) recent.shift();
      for (const send of sends) {
        client.sendRaw(send.data, send.binary);
        frames++;
      }
      if (await client.ping()) return true;
      // The server may close a connection that sent garbage; it must still serve a new one.
      if (!server.alive) throw new Error(`the server died (${server.exitDescription}). The last runs sent:\n${recent.join("\n")}\nServer log:\n${server.log.slice(-3000)}`);
      await client.close();
      client = await open();
      reconnects++;
      if (!(await client.ping())) throw new Error("the server accepts connections but does not answer any more");
      return true;
    }),
    RUNS,
  );
  await client.close();
  const seconds = (Date.now() - started) / 1000;
  console.log(`ws fuzz: ${RUNS} runs, ${frames} frames, ${reconnects} reconnects after the server closed a connection, ${seconds.toFixed(1)} s`);

  expect(server.alive).toBe(true);
  expect(await server.healthy()).toBe(true);
  const traffic = await steady.finish();
  expect({ code: traffic.code, wrong: traffic.wrong }).toEqual({ code: 0, wrong: 0 });
  expect(traffic.calls).toBeGreaterThan(0);
  console.log(`ws fuzz: ${traffic.calls} calls of another app finished during the run, all correct`);
}, 600_000);
