import { describeParamType, kebabCase, parseParamText, UsageError, type ClassParamValues, type ParamManifest } from "@stubrun/protocol";
import type { Argv } from "yargs";

/**
 * Parses the method's options and its class's `@stub.parameter()` options, given alongside:
 * `--model small --x 1`. A name taken by both is refused (the option could not say which).
 */
export function parseEntrypointOptions(
  params: ParamManifest[],
  classParams: ParamManifest[],
  argv: string[],
  entrypoint: string,
): { args: unknown[]; classValues: ClassParamValues } {
  const clash = classParams.find((c) => params.some((p) => kebabCase(p.name) === kebabCase(c.name)));
  if (clash) {
    throw new UsageError(`${entrypoint} has a parameter named ${clash.name}, and so has its class (@stub.parameter()): rename one, so that --${kebabCase(clash.name)} says which`);
  }
  const values = parseOptionValues([...params, ...classParams], argv, entrypoint);
  const classValues: ClassParamValues = {};
  classParams.forEach((param, i) => {
    const value = values[params.length + i];
    if (value !== undefined) classValues[param.name] = value as string | number | boolean;
  });
  return { args: trimmed(values.slice(0, params.length)), classValues };
}

/** Trailing undefined arguments are dropped so the method's defaults apply. */
function trimmed(args: unknown[]): unknown[] {
  while (args.length > 0 && args[args.length - 1] === undefined) args.pop();
  return args;
}

/**
 * Parses the entrypoint's part of argv (everything after FILE) into one value per parameter, with
 * yargs: each parameter is an option in kebab-case (camelCase accepted too), booleans take `--no-`.
 */
function parseOptionValues(params: ParamManifest[], argv: string[], entrypoint: string): unknown[] {
  // No options given: yargs would find none either, and is not loaded for that (issue 11).
  if (argv.length === 0) return toArgs(params, {});
  const yargs = require("yargs/yargs") as (argv: string[]) => Argv;
  const parser = yargs(flagValues(params, argv))
    .help(false)
    .version(false)
    .exitProcess(false)
    .strictOptions()
    .parserConfiguration({ "camel-case-expansion": true, "boolean-negation": true, "parse-positional-numbers": false })
    .fail((message: string | null, error: Error | undefined) => {
      throw new UsageError(optionError(message ?? error?.message ?? "bad options", params, entrypoint, argv));
    });
  for (const param of params) {
    const name = kebabCase(param.name);
    parser.option(name, {
      type: param.type === "boolean" ? "boolean" : "string",
      requiresArg: param.type !== "boolean",
    });
  }
  const parsed = parser.parseSync() as Record<string, unknown> & { _: (string | number)[] };
  if (parsed._.length > 0) {
    const dashes = argv.indexOf("--");
    if (dashes >= 0 && argv.slice(dashes + 1).includes(String(parsed._[0]))) {
      throw new UsageError(
        `what follows "--" is not read as options, and ${entrypoint} takes its values as options: drop the "--" (${argv.filter((_, i) => i !== dashes).join(" ")})`,
      );
    }
    throw new UsageError(`unexpected argument ${JSON.stringify(String(parsed._[0]))} for ${entrypoint}: give values as options, like ${example(params)}`);
  }
  return toArgs(params, parsed);
}

/**
 * `--loud=VALUE` for a flag becomes `--loud` or `--no-loud`: yargs reads any value but "true" as
 * false, so the value is checked here by the same rules as web endpoints (`true`/`1`, `false`/`0`).
 */
function flagValues(params: ParamManifest[], argv: string[]): string[] {
  const flag = (name: string) => params.find((p) => p.type === "boolean" && (kebabCase(p.name) === name || p.name === name));
  return argv.map((arg) => {
    const match = /^--([^=]+)=([\s\S]*)$/.exec(arg);
    if (!match) return arg;
    const direct = flag(match[1]);
    const negated = !direct && match[1].startsWith("no-") ? flag(match[1].slice(3)) : undefined;
    if (!direct && !negated) return arg;
    const name = direct ? match[1] : match[1].slice(3);
    const value = parseParamText((direct ?? negated)!, match[2], `option --${match[1]}`);
    return value === !negated ? `--${name}` : `--no-${name}`;
  });
}

function toArgs(params: ParamManifest[], parsed: Record<string, unknown>): unknown[] {
  const args = params.map((param) => {
    const option = `--${kebabCase(param.name)}`;
    const value = parsed[param.name] ?? parsed[kebabCase(param.name)];
    if (value === undefined) {
      if (param.required) throw new UsageError(`missing required option ${option}: expected ${describeParamType(param)}`);
      return undefined;
    }
    if (Array.isArray(value)) throw new UsageError(`option ${option} was given ${value.length} times; give it once`);
    if (param.type === "boolean") return value;
    return parseParamText(param, String(value), `option ${option}`);
  });
  return args;
}

/** The runner's own flags: given after FILE they reach the entrypoint, which has no such option. */
const RUNNER_FLAGS = new Map([
  ["q", "--quiet"],
  ["quiet", "--quiet"],
  ["detach", "--detach"],
]);

function optionError(message: string, params: ParamManifest[], entrypoint: string, argv: string[]): string {
  const missingValue = /Not enough arguments following: (\S+)/.exec(message);
  if (missingValue) {
    const param = params.find((p) => kebabCase(p.name) === missingValue[1] || p.name === missingValue[1]);
    return `option --${missingValue[1]} needs a value: expected ${param ? describeParamType(param) : "a value"}`;
  }
  const unknown = /Unknown arguments?: (.*)/.exec(message);
  if (unknown) {
    const given = unknown[1].split(", ");
    // Shown as typed: yargs reports "--x" and "-x" alike as "x".
    const names = given.map((n) => argv.find((arg) => arg === `--${n}` || arg.startsWith(`--${n}=`) || arg === `-${n}`)?.split("=")[0] ?? (n.length === 1 ? `-${n}` : `--${n}`)).join(", ");
    const known = params.map((p) => `--${kebabCase(p.name)}`).join(", ") || "none";
    const runner = given.map((n) => RUNNER_FLAGS.get(n)).find((flag) => flag !== undefined && !params.some((p) => kebabCase(p.name) === flag.slice(2)));
    const hint = runner ? `\n${runner} is stubrun's own flag: it goes before FILE (npx stubrun ${runner} FILE ...)` : "";
    return `unknown option ${names} for ${entrypoint}; its options are: ${known} (see --help)${hint}`;
  }
  return message;
}

function example(params: ParamManifest[]): string {
  const p = params[0];
  return p ? `--${kebabCase(p.name)} ${p.type === "number" ? "1" : "value"}` : "(it takes no options)";
}

/**
 * The `FILE::REF --help` text: every option with its type, default, choices and description; the
 * class's `@stub.parameter()` options (`classParams`) in a section of their own.
 */
export function formatEntrypointHelp(params: ParamManifest[], usage: string, summary: string | undefined, classParams: { className: string; params: ParamManifest[] } = { className: "", params: [] }): string {
  const rows = [...params, ...classParams.params].map((param) => {
    const name = kebabCase(param.name);
    const flag = param.type === "boolean" ? `--${name}, --no-${name}` : `--${name} <${typeLabel(param)}>`;
    const notes = [
      param.description,
      param.required ? "required" : param.defaultText !== undefined ? `default: ${param.defaultText}` : "optional",
    ].filter(Boolean);
    return [flag, notes.join("  ")] as const;
  });
  const width = Math.max(0, ...rows.map(([flag]) => flag.length)) + 2;
  const lines = [`Usage: ${usage}`, ""];
  if (summary) lines.push(summary, "");
  lines.push(params.length ? "Options:" : classParams.params.length ? "The method takes no options." : "This entrypoint takes no options.");
  for (const [flag, notes] of rows.slice(0, params.length)) lines.push(`  ${flag.padEnd(width)}${notes}`);
  if (classParams.params.length > 0) {
    lines.push("", `Parameters of class ${classParams.className} (@stub.parameter()):`);
    for (const [flag, notes] of rows.slice(params.length)) lines.push(`  ${flag.padEnd(width)}${notes}`);
  }
  return lines.join("\n");
}

function typeLabel(param: ParamManifest): string {
  switch (param.type) {
    case "choice":
      return (param.choices ?? []).join("|");
    case "date":
      return "date";
    default:
      return param.type;
  }
}

/** Option errors end with the command that lists the options (`command` as typed after `npx stubrun`). */
export function withHelpHint<T>(parse: () => T, command: string): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(`${error.message}\nSee the options with: npx stubrun ${command} --help`);
    throw error;
  }
}
