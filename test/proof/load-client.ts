/**
 * One process of the load run: `node --import tsx load-client.ts WS_URL APP CLIENTS CALLS FIRST`
 * opens CLIENTS WebSocket connections (each its own client, with STUBRUN_HOME's auth), looks the
 * function up on each, then each makes CALLS calls one after another, timing every round trip.
 * Prints one JSON line: { ok, wrong, errors, firstError, rtts, firstRtts } (round trips in ms).
 */
import { RawClient } from "./raw-client";

async function main(): Promise<void> {
  const [wsUrl, app, clients, calls, first] = process.argv.slice(2);
  const home = process.env.STUBRUN_HOME ?? "";
  const connections = await Promise.all(Array.from({ length: Number(clients) }, () => RawClient.open(wsUrl, home)));
  let ok = 0;
  let wrong = 0;
  let errors = 0;
  let firstError = "";
  const rtts: number[] = [];
  /** Each client's first round trip, which waits for workers to start. */
  const firstRtts: number[] = [];
  await Promise.all(
    connections.map(async (client, c) => {
      const id = Number(first) + c;
      const appId = await client.lookup(app, "Load.tag");
      for (let i = 0; i < Number(calls); i++) {
        const start = process.hrtime.bigint();
        const result = await client.call(appId, "Load.tag", [id, i]);
        (i === 0 ? firstRtts : rtts).push(Number(process.hrtime.bigint() - start) / 1e6);
        if (!result.ok) {
          errors++;
          firstError ||= `${result.error.name}: ${result.error.message}`;
        } else if (result.value === `${id}:${i}`) ok++;
        else wrong++;
      }
    }),
  );
  await Promise.all(connections.map((c) => c.close()));
  console.log(JSON.stringify({ ok, wrong, errors, firstError, rtts: rtts.map((t) => Math.round(t * 1000) / 1000), firstRtts }));
}

main().then(
  () => process.exit(0),
  (error) => {
    console.log(JSON.stringify({ fatal: `${(error as Error).name}: ${(error as Error).message}` }));
    process.exit(1);
  },
);
