import { envNameProblem } from "./environments";
import { need, type Obj } from "./field-checks";

/** The optional `env` of a request, checked; absent (not "main") when not given, so the server can choose. */
export function envField(m: Obj, where: string): { env?: string } {
  if (m.env === undefined) return {};
  need(typeof m.env === "string", `${where}: "env" must be a string`);
  const problem = envNameProblem(m.env as string);
  need(problem === undefined, `${where}: ${problem}`);
  return { env: m.env as string };
}
