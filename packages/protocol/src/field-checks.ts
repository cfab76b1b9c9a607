import { ProtocolError } from "./errors";

/**
 * The field checks every validator shares (validate.ts, node-validate.ts): each throws a
 * ProtocolError that names the field and what it must be. Internal to the protocol package.
 */
export type Obj = Record<string, unknown>;

export function isObject(value: unknown): value is Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function need(ok: boolean, what: string): asserts ok {
  if (!ok) throw new ProtocolError(what);
}

export function str(o: Obj, key: string, where: string): string {
  need(typeof o[key] === "string", `${where}: "${key}" must be a string`);
  return o[key] as string;
}

export function int(o: Obj, key: string, where: string): number {
  need(Number.isSafeInteger(o[key]), `${where}: "${key}" must be an integer`);
  return o[key] as number;
}
