import fs from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { CODE_HASH_PATTERN } from "../code/code-recipe";
import type { CodeStore } from "../code/code.store";
import { json } from "./http-json";
import { sendStream } from "./http-stream";

/**
 * `GET /api/code/HASH`, behind the full token: the recipe of the code folder HASH (a `CodeRecipe`:
 * its files, and which blob lands where), from which a worker node rebuilds the same folder. The
 * blobs themselves are `GET /api/blobs/HASH`.
 */
export async function handleCode(req: IncomingMessage, res: ServerResponse, parts: string[], code: CodeStore): Promise<void> {
  const hash = parts[2];
  if (parts.length !== 3 || !CODE_HASH_PATTERN.test(hash)) return json(res, 400, { error: "a code folder's path is /api/code/HASH, HASH being 32 lowercase hex digits" });
  if (req.method !== "GET") return json(res, 405, { error: `use GET /api/code/${hash}` });
  const file = code.recipePath(hash);
  if (!file) {
    return json(res, 404, {
      error: `this server has no code ${hash}: it was never uploaded here, was removed by retention, or was stored before code recipes were kept (deploy or run the app again)`,
    });
  }
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, "r"); // open first: a file gone meanwhile is a 404, not a cut-off 200
  } catch {
    return json(res, 404, { error: `this server has no code ${hash} any more (removed just now)` });
  }
  const { size } = await handle.stat();
  await sendStream(res, { "content-type": "application/json; charset=utf-8", "content-length": size }, handle.createReadStream());
}
