import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/**
 * What SWC made of a file on an earlier run, on disk, as tsx keeps esbuild's: a second run of an
 * unchanged file neither compiles nor parses it, nor loads SWC's native binding at all (issue 11:
 * that is a third of `stubrun hello.ts` beyond Node's own start). An entry is named by the hash of
 * everything its text depends on (SWC's version, the options, the source), so a change to any of
 * them misses; it starts with the hash of its own text, so a damaged entry is ignored and made again.
 * Entries are written to a temporary name and renamed, so two runs at once never read half of one.
 */
export class CompileCache {
  /** @param dir where entries go */
  constructor(private readonly dir: string) {}

  /**
   * The text cached for `inputs`, else what `make` returns (then stored). `make` may throw (a
   * syntax error): nothing is stored, so the next run says it again.
   */
  text(inputs: string[], make: () => string): string {
    const file = path.join(this.dir, `${sha256(inputs.join("\0"))}.txt`);
    const cached = readEntry(file);
    if (cached !== undefined) return cached;
    const text = make();
    writeEntry(this.dir, file, text);
    return text;
  }
}

function sha256(text: string): string {
  return crypto.createHash("sha256").update(text).digest("hex");
}

/** An entry's text, or undefined when there is none or it is not whole. */
function readEntry(file: string): string | undefined {
  let raw: string;
  try {
    raw = fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  const newline = raw.indexOf("\n");
  const text = raw.slice(newline + 1);
  return newline === 64 && raw.slice(0, 64) === sha256(text) ? text : undefined;
}

/** Best effort: a cache that cannot be written (a read-only home) only costs the next run a compile. */
function writeEntry(dir: string, file: string, text: string): void {
  const temporary = `${file}.${process.pid}.${crypto.randomBytes(4).toString("hex")}`;
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(temporary, `${sha256(text)}\n${text}`);
    fs.renameSync(temporary, file);
  } catch {
    fs.rmSync(temporary, { force: true });
  }
}

/** Compiles and parses straight through: for a library caller (tests) that gave no home. */
const NONE = { text: (_inputs: string[], make: () => string) => make() };

let shared: Pick<CompileCache, "text"> = NONE;

/**
 * From now on, this process caches in `home`/cache/swc: the CLI's commands turn it on with their
 * `$STUBRUN_HOME`, so a program loaded in-process elsewhere (a test) writes nothing.
 */
export function useCompileCache(home: string): void {
  shared = new CompileCache(path.join(home, "cache", "swc"));
}

/** The cache of this process (see useCompileCache). */
export function compileCache(): Pick<CompileCache, "text"> {
  return shared;
}

let version: string | undefined;

/** The installed @swc/core's version, read without loading it: part of every entry's name. */
export function swcVersion(): string {
  version ??= (JSON.parse(fs.readFileSync(require.resolve("@swc/core/package.json"), "utf8")) as { version: string }).version;
  return version;
}
