// Another app's calls in flight while the fuzzers run: `node steady-caller.cjs APP STOP_FILE`
// maps Steady.inc over batches of 16 inputs, checking every result, until STOP_FILE exists;
// then prints { batches, calls, wrong } as JSON. Any error ends it with "FAILED NAME: MESSAGE"
// and exit code 1.
const fs = require("node:fs");
const { lookup } = require("stubrun");

const [app, stopFile] = process.argv.slice(2);

(async () => {
  const inc = await lookup(app, "Steady.inc");
  let batches = 0;
  let calls = 0;
  let wrong = 0;
  while (!fs.existsSync(stopFile)) {
    const inputs = Array.from({ length: 16 }, (_, i) => batches * 16 + i);
    let i = 0;
    for await (const y of inc.map(inputs)) {
      if (y !== inputs[i] + 1) wrong++;
      i++;
      calls++;
    }
    batches++;
  }
  console.log(JSON.stringify({ batches, calls, wrong }));
})().then(
  () => process.exit(0),
  (error) => {
    console.log(`FAILED ${error && error.name}: ${error && error.message}`);
    process.exit(1);
  },
);
