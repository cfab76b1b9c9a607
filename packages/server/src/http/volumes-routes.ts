import { APP_NAME_PATTERN, listTree, RequestRefusedError, validateVolumeRequest } from "@stubrun/protocol";
import type { BlobStore } from "../code/blob.store";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { SharedObjects } from "../objects/shared-objects";
import { json, readBody } from "./http-json";

/**
 * The Volumes API the `volume` commands use, behind the full token: `GET /api/volumes` lists
 * them; `GET /api/volumes/NAME` is one with its head; `DELETE /api/volumes/NAME` deletes it;
 * `POST /api/volumes/NAME/commit` with `{ hash, ifVersion?, create? }` sets its head to a blob
 * uploaded before (`/api/blobs`). Content itself goes by the blobs API.
 */
export async function handleVolumes(req: IncomingMessage, res: ServerResponse, parts: string[], objects: SharedObjects, blobs: BlobStore, env: string, maxBodyBytes: number): Promise<void> {
  if (parts.length === 2) {
    if (req.method !== "GET") return json(res, 405, { error: "use GET /api/volumes" });
    return json(res, 200, objects.list("Volume", env));
  }
  const name = parts[2];
  if (parts.length > 4 || (parts.length === 4 && parts[3] !== "commit" && parts[3] !== "files") || !APP_NAME_PATTERN.test(name)) {
    return json(res, 404, { error: `no such route: /api/volumes/NAME, /api/volumes/NAME/files or /api/volumes/NAME/commit, NAME of letters, digits, "-", "_" and "."` });
  }
  if (parts.length === 4 && parts[3] === "commit") {
    if (req.method !== "POST") return json(res, 405, { error: `use POST /api/volumes/${name}/commit with { hash, ifVersion }` });
    const body = await readBody(req, maxBodyBytes);
    if (typeof body === "string") return json(res, 400, { error: body });
    let request;
    try {
      request = validateVolumeRequest({ ...body, type: "volume", id: 0, op: "commit", name, env });
      return json(res, 200, objects.volume(request, env));
    } catch (error) {
      const status = error instanceof RequestRefusedError ? 409 : 400;
      return json(res, status, { error: (error as Error).message });
    }
  }
  const row = objects.find("Volume", name, env);
  if (!row) return json(res, 404, { error: `no Volume named "${name}"${env === "main" ? "" : ` in environment ${env}`}; see them with: npx stubrun volume list` });
  if (parts.length === 4) {
    if (req.method !== "GET") return json(res, 405, { error: `use GET /api/volumes/${name}/files` });
    const { hash, version } = objects.volumes.head(row.id);
    const files = hash === null || !blobs.has(hash) ? [] : listTree(blobs.dir(hash)).map((f) => ({ path: f.path, kind: f.kind, size: f.size }));
    return json(res, 200, { hash, version, files });
  }
  if (req.method === "DELETE") return json(res, 200, { name, deleted: objects.delete("Volume", row) });
  if (req.method !== "GET") return json(res, 405, { error: `use GET or DELETE /api/volumes/${name}` });
  return json(res, 200, objects.list("Volume", row.env).find((s) => s.name === name && s.app === null));
}
