import { APP_NAME_PATTERN, PARTITION_PATTERN, type Encoded } from "@stubrun/protocol";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ObjectKind } from "../objects/object-registry";
import type { SharedObjects } from "../objects/shared-objects";
import { json } from "./http-json";

/**
 * The Dicts and Queues API the `dict` and `queue` commands use, behind the full token:
 * `GET /api/dicts` and `/api/queues` list them; `GET /api/dicts/NAME/items[?key=JSON]` reads a
 * Dict's entries or one; `GET /api/queues/NAME/items?n=N&partition=P` peeks at a Queue;
 * `DELETE .../NAME/items` clears one (`?all=1`: every partition of a Queue), `DELETE .../NAME`
 * deletes it. `?app=APP` addresses an app's ephemeral object.
 */
export function handleObjects(req: IncomingMessage, res: ServerResponse, parts: string[], url: URL, objects: SharedObjects): void {
  const kind: ObjectKind = parts[1] === "dicts" ? "Dict" : "Queue";
  const command = kind.toLowerCase();
  if (parts.length === 2) {
    if (req.method !== "GET") return json(res, 405, { error: `use GET /api/${parts[1]}` });
    return json(res, 200, objects.list(kind));
  }
  const name = parts[2];
  if (parts.length > 4 || (parts.length === 4 && parts[3] !== "items") || !APP_NAME_PATTERN.test(name)) {
    return json(res, 404, { error: `no such route: /api/${parts[1]}/NAME or /api/${parts[1]}/NAME/items, NAME of letters, digits, "-", "_" and "."` });
  }
  const app = url.searchParams.get("app") ?? undefined;
  const row = objects.find(kind, name, app);
  if (!row) return json(res, 404, { error: `no ${kind} named "${name}"${app ? ` in app ${app}` : ""}; see them with: npx stubrun ${command} list` });
  if (parts.length === 3) {
    if (req.method === "DELETE") return json(res, 200, { name, deleted: objects.delete(kind, row) });
    if (req.method !== "GET") return json(res, 405, { error: `use GET or DELETE /api/${parts[1]}/${name}` });
    return json(res, 200, objects.list(kind).find((s) => s.name === name && s.app === (app ?? null)));
  }
  if (req.method === "DELETE") {
    if (kind === "Dict") return json(res, 200, objects.dicts.apply(row, { op: "clear" }));
    const partition = url.searchParams.get("partition") ?? "";
    if (!PARTITION_PATTERN.test(partition)) return json(res, 400, { error: "a partition may only hold letters, digits, \"-\", \"_\" and \".\", at most 64 characters" });
    return json(res, 200, objects.queues.apply(row, { op: "clear", partition, all: url.searchParams.get("all") === "1" }, undefined));
  }
  if (req.method !== "GET") return json(res, 405, { error: `use GET or DELETE /api/${parts[1]}/${name}/items` });
  if (kind === "Dict") {
    const key = url.searchParams.get("key");
    if (key === null) return json(res, 200, objects.dicts.apply(row, { op: "items" }));
    let encoded: Encoded;
    try {
      encoded = JSON.parse(key) as Encoded;
    } catch {
      return json(res, 400, { error: "?key= must be the key as JSON (a string key in quotes)" });
    }
    return json(res, 200, objects.dicts.apply(row, { op: "get", key: encoded }));
  }
  const n = Number(url.searchParams.get("n") ?? "10");
  const partition = url.searchParams.get("partition") ?? "";
  if (!Number.isSafeInteger(n) || n < 1 || n > 10_000) return json(res, 400, { error: "?n= must be a whole number from 1 to 10000" });
  if (!PARTITION_PATTERN.test(partition)) return json(res, 400, { error: "a partition may only hold letters, digits, \"-\", \"_\" and \".\", at most 64 characters" });
  return json(res, 200, { values: objects.queues.peek(row.id, partition, n) });
}
