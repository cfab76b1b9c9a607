import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ROOT } from "./harness";

/** A small real package, installed from the npm registry as a user would. */
export const REGISTRY_PACKAGE = "left-pad@1.3.0";

/** Where the registry install is kept for this test run's files: installed once, copied after. */
const INSTALLED = path.join(ROOT, "test/e2e/.fixtures/npm-installed");

/**
 * A user's project in a fresh temporary folder, outside this repository: its own package.json,
 * `left-pad` installed from the registry with npm, and a native addon (better-sqlite3, with the
 * packages it loads) as installed in this repository's node_modules. `files` are written under it.
 */
export function npmProject(prefix: string, files: Record<string, string>): string {
  if (!fs.existsSync(path.join(INSTALLED, "node_modules/left-pad/package.json"))) {
    fs.rmSync(INSTALLED, { recursive: true, force: true });
    fs.mkdirSync(INSTALLED, { recursive: true });
    fs.writeFileSync(path.join(INSTALLED, "package.json"), JSON.stringify({ name: "npm-installed", private: true }));
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", REGISTRY_PACKAGE], { cwd: INSTALLED, stdio: "pipe" });
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `stubrun-${prefix}-`));
  fs.cpSync(path.join(INSTALLED, "node_modules"), path.join(dir, "node_modules"), { recursive: true });
  for (const addon of ["better-sqlite3", "bindings", "file-uri-to-path"]) {
    fs.cpSync(path.join(ROOT, "node_modules", addon), path.join(dir, "node_modules", addon), { recursive: true, dereference: true });
  }
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: prefix, private: true, dependencies: { "left-pad": "1.3.0", "better-sqlite3": "^12.0.0" } }));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

/** A program in its own temporary folder that looks up `app`'s `fn` and prints what `.remote(...args)` returns, as JSON. */
export function lookupProgram(app: string, fn: string, args: unknown[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-lookup-"));
  const file = path.join(dir, "call.cjs");
  fs.writeFileSync(
    file,
    `const { lookup } = require(${JSON.stringify(path.join(ROOT, "packages/client"))});
lookup(${JSON.stringify(app)}, ${JSON.stringify(fn)})
  .then((f) => f.remote(...${JSON.stringify(args)}))
  .then((value) => console.log(JSON.stringify(value)), (error) => { console.error(error.stack || error); process.exitCode = 1; });
`,
  );
  return file;
}
