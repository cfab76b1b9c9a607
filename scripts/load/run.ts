/**
 * `npm run load`: 100 concurrent clients (each its own WebSocket connection, spread over 4
 * processes) each make 100 calls in a row to a deployed app on a fresh server. Nothing may be
 * lost: 10,000 results, each the right one. Prints the round trip's p50 and p99.
 * `LOAD_CLIENTS`, `LOAD_CALLS`, `LOAD_PROCESSES` change the shape. Exits 1 when a call was lost or wrong.
 */
import { deployLoadApp, runLoad } from "../../test/proof/load-run";
import { ProofServer } from "../../test/proof/proof-server";

async function main(): Promise<number> {
  const clients = Number(process.env.LOAD_CLIENTS ?? 100);
  const callsPerClient = Number(process.env.LOAD_CALLS ?? 100);
  const processes = Number(process.env.LOAD_PROCESSES ?? 4);
  const server = await ProofServer.start();
  try {
    const app = await deployLoadApp(server, "load-app");
    const f = await runLoad(server, app, { clients, callsPerClient, processes });
    const rows: [string, string][] = [
      ["clients (connections) x calls each", `${f.clients} x ${f.callsPerClient} over ${processes} processes`],
      ["results right / expected", `${f.ok} / ${f.expected}`],
      ["wrong / errors / lost", `${f.wrong} / ${f.errors} / ${f.lost}`],
      ["round trip p50", `${f.p50.toFixed(2)} ms`],
      ["round trip p99", `${f.p99.toFixed(2)} ms`],
      ["round trip max", `${f.max.toFixed(2)} ms`],
      ["p50 / p99 without each client's first call", `${f.warmP50.toFixed(2)} / ${f.warmP99.toFixed(2)} ms`],
      ["wall time", `${f.seconds.toFixed(1)} s (${f.callsPerSecond.toFixed(0)} calls/s)`],
      ["server still answers", (await server.healthy()) ? "yes" : "NO"],
    ];
    const width = Math.max(...rows.map((r) => r[0].length));
    for (const [k, v] of rows) console.log(`${k.padEnd(width)} | ${v}`);
    if (f.firstError) console.log(`first error: ${f.firstError}`);
    return f.ok === f.expected ? 0 : 1;
  } finally {
    await server.dispose();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
