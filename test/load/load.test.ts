import { deployLoadApp, runLoad } from "../proof/load-run";
import { ProofServer } from "../proof/proof-server";

/**
 * Issue 7, "prove it holds" (the light version of `npm run load`): many clients, each its own
 * WebSocket connection, call a deployed app at once; every call comes back, with its own result.
 */

let server: ProofServer;

beforeAll(async () => {
  server = await ProofServer.start();
}, 60_000);

afterAll(async () => {
  await server?.dispose();
});

test("50 concurrent clients making 40 calls each lose nothing and get their own results", async () => {
  const app = await deployLoadApp(server, "load-light");
  const f = await runLoad(server, app, { clients: 50, callsPerClient: 40, processes: 2, boundMs: 120_000 });
  console.log(`load: ${f.ok}/${f.expected} right in ${f.seconds.toFixed(1)} s, p50 ${f.p50.toFixed(1)} ms, p99 ${f.p99.toFixed(1)} ms`);
  expect({ ok: f.ok, wrong: f.wrong, errors: f.errors, lost: f.lost, firstError: f.firstError }).toEqual({ ok: 2000, wrong: 0, errors: 0, lost: 0, firstError: "" });
  expect(await server.healthy()).toBe(true);
}, 180_000);
