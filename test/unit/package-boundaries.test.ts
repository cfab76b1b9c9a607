import fs from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";

/**
 * Dependencies point one way (DESIGN.md §1): everything may use protocol; the sdk and the client
 * stay light (no server, no compiler, no native addon); the worker never imports the server; only
 * the daemon starter finds the server's entry point; nothing imports the cli but the stubrun package.
 */
const ALLOWED: Record<string, string[]> = {
  protocol: ["croner"], // no dependencies of its own: the sdk and the worker load protocol
  sdk: ["@stubrun/protocol", "ws", "reflect-metadata"],
  client: ["@stubrun/sdk"],
  worker: ["@stubrun/protocol", "@stubrun/sdk"],
  server: ["@stubrun/protocol", "@stubrun/worker", "ws", "better-sqlite3", "bullmq"],
  daemon: ["@stubrun/protocol", "@stubrun/server"],
  cli: ["@stubrun/protocol", "@stubrun/sdk", "@stubrun/server", "@stubrun/daemon", "yargs", "@swc/core", "chokidar", "eventsource-parser"],
  stubrun: ["@stubrun/protocol", "@stubrun/sdk", "@stubrun/cli", "@stubrun/server", "@stubrun/daemon"],
};

const PACKAGES = path.resolve(__dirname, "../../packages");
const BUILTINS = new Set(builtinModules);

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith(".ts") ? [full] : [];
  });
}

/** The bare specifiers a file imports, requires or resolves (`require.resolve` finds entry points too). */
export function importsOf(source: string): string[] {
  const found = new Set<string>();
  for (const match of source.matchAll(/(?:from\s+|import\s*\(\s*|import\s+|require(?:\.resolve)?\(\s*)["']([^"']+)["']/g)) found.add(match[1]);
  return [...found].filter((spec) => !spec.startsWith(".") && !spec.startsWith("node:") && !BUILTINS.has(spec.split("/")[0]));
}

function packageOf(spec: string): string {
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** Imports of `dir`'s sources, as "file imports spec". */
function importLines(pkg: string, keep: (spec: string) => boolean): string[] {
  return sourceFiles(path.join(PACKAGES, pkg, "src")).flatMap((file) =>
    importsOf(fs.readFileSync(file, "utf8"))
      .filter(keep)
      .map((spec) => `${path.relative(PACKAGES, file)} imports ${spec}`),
  );
}

function declaredDependencies(pkg: string): string[] {
  const manifest = JSON.parse(fs.readFileSync(path.join(PACKAGES, pkg, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
  return Object.keys(manifest.dependencies ?? {});
}

describe("package boundaries", () => {
  test("every package in packages/ has its rule here", () => {
    const dirs = fs.readdirSync(PACKAGES).filter((name) => fs.existsSync(path.join(PACKAGES, name, "package.json")));
    expect(dirs.sort()).toEqual(Object.keys(ALLOWED).sort());
  });

  for (const [pkg, allowed] of Object.entries(ALLOWED)) {
    test(`${pkg} imports only ${allowed.join(", ") || "Node built-ins"}`, () => {
      expect(importLines(pkg, (spec) => !allowed.includes(packageOf(spec)))).toEqual([]);
    });

    test(`${pkg} imports only packages its package.json declares`, () => {
      const declared = declaredDependencies(pkg);
      expect(importLines(pkg, (spec) => !declared.includes(packageOf(spec)))).toEqual([]);
    });

    test(`${pkg} reaches into no package's dist/ (only what its package.json exports)`, () => {
      expect(importLines(pkg, (spec) => /^(@[^/]+\/)?[^/]+\/(.*\/)?(dist|src)(\/|$)/.test(spec))).toEqual([]);
    });
  }
});

describe("importsOf", () => {
  test("finds imports, requires and resolved entry points, but no built-ins or relative paths", () => {
    const source = [
      `import { a } from "@stubrun/server/dist/daemon";`,
      `import "reflect-metadata";`,
      `const b = require("yargs");`,
      `const main = require.resolve("@stubrun/worker/dist/main.js");`,
      `const c = await import("@stubrun/server");`,
      `import fs from "node:fs"; import os from "os"; import { d } from "./local";`,
    ].join("\n");
    expect(importsOf(source).sort()).toEqual(["@stubrun/server", "@stubrun/server/dist/daemon", "@stubrun/worker/dist/main.js", "reflect-metadata", "yargs"]);
  });
});
