import type { ObjectSummary } from "@stubrun/protocol";
import type { ApiClient } from "../api-client";
import { confirm, localTime, printTable } from "./terminal";

/** What the `dict` and `queue` commands share: the API paths, the list, clear and delete. */

/** The `/api/dicts/NAME` or `/api/queues/NAME` path, with `?app=` for an ephemeral one. */
export function objectPath(collection: "dicts" | "queues", name: string, app: string | undefined, rest = "", query: Record<string, string> = {}): string {
  const params = new URLSearchParams({ ...query, ...(app === undefined ? {} : { app }) }).toString();
  return `/api/${collection}/${encodeURIComponent(name)}${rest}${params ? `?${params}` : ""}`;
}

/** `dict list` and `queue list`. */
export async function listObjects(api: ApiClient, collection: "dicts" | "queues", asJson: boolean): Promise<void> {
  const objects = await api.get<ObjectSummary[]>(`/api/${collection}`);
  if (asJson) return void process.stdout.write(`${JSON.stringify(objects, null, 2)}\n`);
  const kind = collection === "dicts" ? "Dict" : "Queue";
  if (objects.length === 0) return void process.stderr.write(`No ${kind}s yet: make one in code with ${kind}.fromName(NAME, { createIfMissing: true })\n`);
  const partitions = (o: ObjectSummary) => Object.entries(o.partitions ?? {}).map(([p, n]) => `${p || "(default)"}:${n}`).join(",") || "-";
  printTable([
    ["NAME", collection === "dicts" ? "ENTRIES" : "VALUES", ...(collection === "queues" ? ["PARTITIONS"] : []), "APP", "CREATED"],
    ...objects.map((o) => [o.name, String(o.len), ...(collection === "queues" ? [partitions(o)] : []), o.app ?? "-", localTime(o.createdAt)]),
  ]);
}

/** `dict clear` and `queue clear` (a Queue's default partition, another with `query.partition`, or `all`). */
export async function clearObject(api: ApiClient, kind: "Dict" | "Queue", name: string, yes: boolean, app: string | undefined, query: Record<string, string> = {}): Promise<void> {
  const collection = kind === "Dict" ? "dicts" : "queues";
  await api.get(objectPath(collection, name, app)); // a missing one is an error before any question
  await confirm(`Remove every ${kind === "Dict" ? "entry" : "value"} of ${kind} ${name}?`, { yes, refused: "not cleared" });
  const { cleared } = await api.delete<{ cleared: number }>(objectPath(collection, name, app, "/items", query));
  process.stderr.write(`Cleared ${kind} ${name}: ${cleared} ${kind === "Dict" ? "entries" : "values"} removed\n`);
}

/** `dict delete` and `queue delete`: off a terminal it needs --yes, since nothing of it can be brought back. */
export async function deleteObject(api: ApiClient, kind: "Dict" | "Queue", name: string, yes: boolean, app: string | undefined): Promise<void> {
  const collection = kind === "Dict" ? "dicts" : "queues";
  const found = await api.get<ObjectSummary>(objectPath(collection, name, app));
  await confirm(`Delete ${kind} ${name} with its ${found.len} ${kind === "Dict" ? "entries" : "values"}?`, {
    yes,
    refused: "not deleted",
    strict: `deleting ${kind} ${name} removes it and its ${found.len} ${kind === "Dict" ? "entries" : "values"} for good: confirm with --yes`,
  });
  await api.delete(objectPath(collection, name, app));
  process.stderr.write(`Deleted ${kind} ${name}\n`);
}
