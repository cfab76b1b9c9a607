import fc from "fast-check";
import net from "node:net";
import { ProofServer } from "../proof/proof-server";
import { authHeaders } from "../proof/server-auth";
import { deployFuzzApps, fuzzRuns, SteadyTraffic, type FuzzApps } from "./fuzz-setup";
import { checkProperty, clip } from "./fuzz-report";
import { httpRequests } from "./http-arbitraries";

/**
 * Issue 7, "prove it holds": malformed requests on every HTTP route (raw bytes over `net`: bad
 * paths like `//%`, bad methods, headers, bodies, huge query strings, truncated requests) while
 * another app's calls run. After each request the server must still answer `/health`, and the
 * other app's calls must all finish with the right values. `FUZZ_RUNS=10000` for the full run.
 */

const RUNS = fuzzRuns(2_000);

let server: ProofServer;
let apps: FuzzApps;
let steady: SteadyTraffic;

beforeAll(async () => {
  server = await ProofServer.start();
  apps = await deployFuzzApps(server, "httpfuzz");
  steady = new SteadyTraffic(server, apps.steady);
}, 120_000);

afterAll(async () => {
  steady?.kill();
  await server?.dispose();
});

/** Sends raw bytes and waits for the first bytes of an answer, the socket's end, or `waitMs`; returns the status line. */
function sendRaw(port: number, bytes: Buffer, waitMs: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let answer = "";
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer.split("\r\n")[0] || "(no answer)");
    };
    const timer = setTimeout(done, waitMs);
    socket.on("error", done);
    socket.on("close", done);
    socket.on("data", (d) => {
      answer += d.toString("latin1");
      if (answer.includes("\r\n")) done();
    });
    socket.on("connect", () => socket.end(bytes));
  });
}

test(`${RUNS} hostile HTTP requests on every route leave the server up and another app's calls undisturbed`, async () => {
  const statuses = new Map<string, number>();
  /** The first request that got each 5xx answer: not a crash, but worth a look. */
  const serverErrors = new Map<string, string>();
  const recent: string[] = [];
  const started = Date.now();
  await checkProperty(
    fc.asyncProperty(httpRequests({ target: apps.target, victim: apps.victim, host: `127.0.0.1:${server.port}`, auth: authHeaders(server.home) }), async (bytes) => {
      recent.push(`${bytes.length} B: ${clip(bytes.toString("latin1"), 200)}`);
      if (recent.length > 5) recent.shift();
      const status = await sendRaw(server.port, bytes, 1_000);
      const code = /^HTTP\/1\.[01] (\d{3})/.exec(status)?.[1] ?? status.slice(0, 30);
      statuses.set(code, (statuses.get(code) ?? 0) + 1);
      if (code.startsWith("5") && !serverErrors.has(code)) serverErrors.set(code, clip(bytes.toString("latin1"), 300));
      if (await server.healthy()) return true;
      await Promise.race([server.exited(), new Promise((r) => setTimeout(r, 1_000))]);
      throw new Error(
        `GET /health failed; the server ${server.alive ? "is up but does not answer" : `died (${server.exitDescription})`}.\n` +
          `The last requests:\n${recent.join("\n")}\nServer log:\n${server.log.slice(-3000)}`,
      );
    }),
    RUNS,
  );
  const seconds = (Date.now() - started) / 1000;
  console.log(`http fuzz: ${RUNS} requests in ${seconds.toFixed(1)} s; answers: ${[...statuses].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} x${n}`).join(", ")}`);

  for (const [code, request] of serverErrors) console.log(`http fuzz: first request answered ${code}:\n${request}`);

  expect(server.alive).toBe(true);
  const traffic = await steady.finish();
  expect({ code: traffic.code, wrong: traffic.wrong }).toEqual({ code: 0, wrong: 0 });
  expect(traffic.calls).toBeGreaterThan(0);
  console.log(`http fuzz: ${traffic.calls} calls of another app finished during the run, all correct`);
}, 600_000);
