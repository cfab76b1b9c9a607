import { SECRET_KEY_PATTERN, SECRET_NAME_PATTERN } from "@stubrun/protocol";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { SecretsRepository } from "../state/secrets.repository";
import { json, readBody } from "./http-json";

/**
 * The secrets API the `secret` commands use, behind the full token (a worker's app credential
 * opens the WebSocket only): `GET /api/secrets` (names, keys, dates), `POST /api/secrets/NAME`
 * with `{ values, force }`, `DELETE /api/secrets/NAME`. No answer or error carries a value.
 */
export async function handleSecrets(req: IncomingMessage, res: ServerResponse, parts: string[], secrets: SecretsRepository, maxBodyBytes: number, env: string): Promise<void> {
  if (parts.length === 2) {
    if (req.method !== "GET") return json(res, 405, { error: `use GET /api/secrets, or POST or DELETE /api/secrets/NAME` });
    return json(res, 200, secrets.list(env));
  }
  const name = parts[2];
  if (parts.length !== 3 || !SECRET_NAME_PATTERN.test(name)) {
    return json(res, 400, { error: `a secret name may only hold letters, digits, "-", "_" and ".", at most 64 characters` });
  }
  if (req.method === "DELETE") {
    if (!secrets.delete(name, env)) return json(res, 404, { error: `no secret named "${name}"; see them with: npx stubrun secret list` });
    return json(res, 200, { name, deleted: true });
  }
  if (req.method !== "POST") return json(res, 405, { error: `use POST or DELETE /api/secrets/${name}` });
  const body = await readBody(req, maxBodyBytes);
  if (typeof body === "string") return json(res, 400, { error: body });
  const values = body.values;
  if (typeof values !== "object" || values === null || Array.isArray(values)) return json(res, 400, { error: `the body needs "values": an object of strings` });
  const entries = Object.entries(values as Record<string, unknown>);
  if (entries.length === 0) return json(res, 400, { error: "a secret needs at least one KEY=VALUE" });
  for (const [key, value] of entries) {
    if (!SECRET_KEY_PATTERN.test(key)) return json(res, 400, { error: `key ${JSON.stringify(key)} is not an environment variable name (letters, digits and "_", not starting with a digit)` });
    if (typeof value !== "string") return json(res, 400, { error: `the value of ${key} must be a string` });
  }
  const existed = secrets.list(env).some((s) => s.name === name);
  if (existed && body.force !== true) {
    return json(res, 409, { error: `secret "${name}" already exists; replace its values with: npx stubrun secret create ${name} KEY=VALUE ... --force` });
  }
  const { created } = secrets.put(name, values as Record<string, string>, body.force === true, env);
  json(res, 200, { name, keys: entries.map(([k]) => k), created });
}
