import fs from "node:fs";
import path from "node:path";

/**
 * Dependencies point one way (DESIGN.md §1): everything may use protocol; the sdk stays light;
 * the worker never imports the server; nothing imports the cli but the stubrun package.
 */
const ALLOWED: Record<string, string[]> = {
  protocol: ["croner"], // no dependencies of its own: the sdk and the worker load protocol
  sdk: ["@stubrun/protocol", "ws", "reflect-metadata"],
  worker: ["@stubrun/protocol", "@stubrun/sdk"],
  server: ["@stubrun/protocol", "@stubrun/worker", "ws", "better-sqlite3"],
  cli: ["@stubrun/protocol", "@stubrun/sdk", "@stubrun/server", "yargs", "@swc/core", "chokidar", "eventsource-parser"],
  stubrun: ["@stubrun/protocol", "@stubrun/sdk", "@stubrun/cli", "@stubrun/server"],
};

const PACKAGES = path.resolve(__dirname, "../../packages");

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith(".ts") ? [full] : [];
  });
}

function importsOf(file: string): string[] {
  const source = fs.readFileSync(file, "utf8");
  const found = new Set<string>();
  for (const match of source.matchAll(/(?:from\s+|import\s*\(\s*|require\(\s*)["']([^"']+)["']/g)) found.add(match[1]);
  return [...found].filter((spec) => !spec.startsWith(".") && !spec.startsWith("node:"));
}

function packageOf(spec: string): string {
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

describe("package boundaries", () => {
  for (const [pkg, allowed] of Object.entries(ALLOWED)) {
    test(`${pkg} imports only ${allowed.join(", ") || "Node built-ins"}`, () => {
      const offending = sourceFiles(path.join(PACKAGES, pkg, "src")).flatMap((file) =>
        importsOf(file)
          .filter((spec) => !allowed.includes(packageOf(spec)))
          .map((spec) => `${path.relative(PACKAGES, file)} imports ${spec}`),
      );
      expect(offending).toEqual([]);
    });
  }
});
