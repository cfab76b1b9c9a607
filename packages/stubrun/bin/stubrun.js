#!/usr/bin/env node
// The stubrun bin. It is the Node process itself (no wrapper), so signals reach it directly.
"use strict";
const { main } = require("@stubrun/cli");

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`stubrun: unexpected error: ${(error && error.stack) || error}\n`);
    process.exitCode = 1;
  },
);
