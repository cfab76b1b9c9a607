import { UsageError } from "@stubrun/protocol";
import { getEntrypoints, getFunctions, registry, type AnyClass } from "@stubrun/sdk";

/** The method `stubrun FILE[::REF]` runs, and where: `local` entrypoints in the CLI, `remote` functions in a worker. */
export interface Entrypoint {
  cls: AnyClass;
  methodName: string;
  name: string;
  where: "local" | "remote";
}

interface Candidate extends Entrypoint {
  webEndpoint: boolean;
}

/** Everything a reference may name, in declaration order. */
function candidates(): Candidate[] {
  const all: Candidate[] = [];
  for (const cls of registry().allClasses()) {
    for (const methodName of getEntrypoints(cls)) {
      all.push({ cls, methodName, name: `${cls.name}.${methodName}`, where: "local", webEndpoint: false });
    }
    for (const f of getFunctions(cls)) {
      all.push({ cls, methodName: f.methodName, name: `${cls.name}.${f.methodName}`, where: "remote", webEndpoint: f.kind === "webEndpoint" });
    }
  }
  return all;
}

/**
 * Chooses the entrypoint as SPEC §3 says: `::Class.method`, a unique `::method`, a `::Class` with one
 * runnable method; without a reference, the only local entrypoint, else the only function.
 */
export function resolveEntrypoint(file: string, ref: string | undefined): Entrypoint {
  const all = candidates();
  if (registry().stubs.length === 0) {
    throw new UsageError(`${file} creates no Stub: add \`const stub = new Stub("my-app")\` and decorate methods with @stub.function() or @stub.localEntrypoint()`);
  }
  if (all.length === 0) {
    throw new UsageError(`${file} has nothing to run: decorate a method with @stub.localEntrypoint() or @stub.function()`);
  }
  if (ref !== undefined) return byReference(file, ref, all);

  const locals = all.filter((c) => c.where === "local");
  if (locals.length === 1) return locals[0];
  const functions = all.filter((c) => c.where === "remote" && !c.webEndpoint);
  if (locals.length === 0 && functions.length === 1) return functions[0];
  const why =
    locals.length > 1 ? `${file} has ${locals.length} local entrypoints`
    : functions.length > 1 ? `${file} has ${functions.length} functions and no local entrypoint`
    : `${file} has only web endpoints, which run only when named`;
  throw ambiguous(file, `${why}; say which to run`, all);
}

function byReference(file: string, ref: string, all: Candidate[]): Entrypoint {
  if (ref === "") throw ambiguous(file, `"${file}::" names nothing; say which to run`, all);
  const dot = ref.indexOf(".");
  if (dot >= 0) {
    const found = all.find((c) => c.name === ref);
    if (found) return found;
    throw ambiguous(file, `${file} has no runnable ${ref}${didYouMean(ref, all.map((c) => c.name), file)}`, all);
  }
  const byMethod = all.filter((c) => c.methodName === ref);
  if (byMethod.length === 1) return byMethod[0];
  if (byMethod.length > 1) throw ambiguous(file, `"${ref}" is a method of several classes in ${file}`, byMethod);
  const ofClass = all.filter((c) => c.cls.name === ref);
  if (ofClass.length === 1) return ofClass[0];
  if (ofClass.length > 1) throw ambiguous(file, `class ${ref} has ${ofClass.length} runnable methods`, ofClass);
  const names = [...new Set(all.flatMap((c) => [c.methodName, c.cls.name]))];
  throw ambiguous(file, `${file} has no class or method named ${ref}${didYouMean(ref, names, file)}`, all);
}

/** ` (did you mean FILE::X?)` for the closest name, when one is close enough to be a typo. */
function didYouMean(ref: string, names: string[], file: string): string {
  let best: { name: string; distance: number } | undefined;
  for (const name of names) {
    const distance = editDistance(ref.toLowerCase(), name.toLowerCase());
    if (!best || distance < best.distance) best = { name, distance };
  }
  return best && best.distance <= Math.max(1, Math.floor(ref.length / 3)) ? ` (did you mean ${file}::${best.name}?)` : "";
}

/** Levenshtein distance, with a swap of two neighbours counting as one edit (mian, main). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

function ambiguous(file: string, why: string, list: Candidate[]): UsageError {
  const lines = list.map((c) => `  ${file}::${c.name}  (${kindOf(c)})`);
  const example = list.find((c) => !c.webEndpoint) ?? list[0];
  return new UsageError(`${why}. The candidates are:\n${lines.join("\n")}\nFor example: npx stubrun ${file}::${example.name}`);
}

function kindOf(c: Candidate): string {
  if (c.where === "local") return "local entrypoint";
  return c.webEndpoint ? "web endpoint, runs remotely" : "function, runs remotely";
}
