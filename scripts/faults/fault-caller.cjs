// A user's program for the fault runs: `node fault-caller.cjs spawn APP N BOUND_MS` starts N
// calls of APP's Faults.work with lookup() + spawn and prints one JSON line
// { ids, outcomes } once each call resolved, rejected, or passed the bound ("hung");
// `node fault-caller.cjs map APP N` runs a .map over N inputs and prints "done N".
// Any rejection of the program itself is printed as "FATAL NAME: MESSAGE" with exit code 1.
const { lookup } = require("stubrun");

const [mode, app, count, boundMs = "120000"] = process.argv.slice(2);
const n = Number(count);

async function spawnMode() {
  const work = await lookup(app, "Faults.work");
  const deadline = Date.now() + Number(boundMs);
  const calls = await Promise.all(Array.from({ length: n }, (_, i) => work.spawn(i)));
  console.error(`spawned ${calls.length}`);
  const outcomes = await Promise.all(
    calls.map(
      (call, i) =>
        new Promise((resolve) => {
          const timer = setTimeout(() => resolve("hung"), Math.max(0, deadline - Date.now()));
          call.get().then(
            (v) => resolve(v === i * 2 ? "ok" : `wrong: ${JSON.stringify(v)}`),
            (e) => resolve(`error: ${e.name}: ${e.message}`),
          ).finally(() => clearTimeout(timer));
        }),
    ),
  );
  console.log(JSON.stringify({ ids: calls.map((c) => c.id), outcomes }));
}

async function mapMode() {
  const work = await lookup(app, "Faults.work");
  let done = 0;
  for await (const y of work.map(Array.from({ length: n }, (_, i) => i))) {
    if (typeof y === "number") done++;
    if (done % 50 === 0) console.error(`progress ${done}`);
  }
  console.log(`done ${done}`);
}

(mode === "map" ? mapMode() : spawnMode()).then(
  () => process.exit(0),
  (error) => {
    console.error(`FATAL ${error && error.name}: ${error && error.message}`);
    process.exit(1);
  },
);
