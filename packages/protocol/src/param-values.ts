import { UsageError } from "./errors";
import type { ParamManifest } from "./manifest";

/**
 * Text to parameter values, by the rules of SPEC §3 "Options from parameters". The CLI uses it
 * for options and the server for web endpoint query strings, so both read values the same way.
 */

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** How a parameter's expected value is described in help and errors. */
export function describeParamType(param: ParamManifest): string {
  switch (param.type) {
    case "number":
      return "a number";
    case "string":
      return "a string";
    case "boolean":
      return "true or false";
    case "date":
      return "an ISO date like 2024-01-31 or 2024-01-31T09:30:00Z";
    case "choice":
      return `one of ${(param.choices ?? []).map((c) => (param.numeric ? c : JSON.stringify(c))).join(", ")}`;
    case "json":
      return "a JSON value";
    case "request":
      return "the HTTP request (a web endpoint passes it)";
  }
}

/** Parses one text value for `param`; `label` names it in errors (`--dry-run`, `query parameter "n"`). */
export function parseParamText(param: ParamManifest, text: string, label: string): unknown {
  const bad = () => new UsageError(`${label} expects ${describeParamType(param)}, got ${JSON.stringify(text)}`);
  switch (param.type) {
    case "string":
      return text;
    case "number": {
      // Decimal notation only: Number() would also take "0x10", "Infinity" and "  ".
      if (!DECIMAL.test(text)) throw bad();
      return Number(text);
    }
    case "boolean":
      if (text === "true" || text === "1" || text === "") return true;
      if (text === "false" || text === "0") return false;
      throw bad();
    case "date": {
      const value = new Date(text);
      if (!ISO_DATE.test(text) || Number.isNaN(value.getTime()) || !isCalendarDay(text)) throw bad();
      return value;
    }
    case "choice":
      if (!(param.choices ?? []).includes(text)) throw bad();
      return param.numeric ? Number(text) : text;
    case "json":
      try {
        return JSON.parse(text);
      } catch {
        throw bad();
      }
    case "request":
      throw new UsageError(`${label} is the HTTP request: only a web endpoint passes it, call the function at its URL`);
  }
}

/** Whether the text's `YYYY-MM-DD` is a real day: `new Date` rolls 2024-02-30 over to March 1. */
function isCalendarDay(text: string): boolean {
  const [year, month, day] = text.slice(0, 10).split("-").map(Number);
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

/** camelCase to the kebab-case option name: `dryRun` is `--dry-run`. */
export function kebabCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1-$2").replace(/([A-Z])([A-Z][a-z])/g, "$1-$2").toLowerCase();
}
