#!/usr/bin/env node
// The stubrun bin. It is the Node process itself (no wrapper), so signals reach it directly.
"use strict";
// V8's code for the CLI's modules, kept between runs (dist/code-cache.js); not for the long-lived
// server and worker processes, which start once.
if (!["server", "worker"].includes(process.argv[2])) require("../dist/code-cache").useCodeCache();
const { main } = require("@stubrun/cli");

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Ctrl-C: the app is stopped; a local entrypoint's timers or sockets must not keep the process up.
    if (code === 130) process.exit();
  },
  (error) => {
    process.stderr.write(`stubrun: unexpected error: ${(error && error.stack) || error}\n`);
    process.exitCode = 1;
  },
);
