import { BLOB_HASH_PATTERN, listTree, treeByteLength, treeBytes } from "@stubrun/protocol";
import type { IncomingMessage, ServerResponse } from "node:http";
import { BlobRefusedError, type BlobStore } from "../code/blob.store";
import type { ServerLimits } from "../config/limits";
import { json, readBody } from "./http-json";
import { sendStream } from "./http-stream";

/**
 * The blobs API the CLI uploads an app's packages and files with, behind the full token:
 * `POST /api/blobs/missing` with `{ hashes }` answers which the server lacks; `PUT /api/blobs/HASH`
 * with the tree's bytes stores one, checked against its hash as it arrives; `GET /api/blobs/HASH`
 * sends one back as the same bytes (worker nodes fetch an app's packages so).
 */
export async function handleBlobs(
  req: IncomingMessage,
  res: ServerResponse,
  parts: string[],
  blobs: BlobStore,
  limits: Pick<ServerLimits, "maxBodyBytes" | "maxBlobBytes" | "maxBlobEntries">,
): Promise<void> {
  if (parts.length === 3 && parts[2] === "missing") {
    if (req.method !== "POST") return json(res, 405, { error: "use POST /api/blobs/missing with { hashes: [...] }" });
    const body = await readBody(req, limits.maxBodyBytes);
    if (typeof body === "string") return json(res, 400, { error: body });
    const hashes = body.hashes;
    if (!Array.isArray(hashes) || !hashes.every((h) => typeof h === "string" && BLOB_HASH_PATTERN.test(h))) {
      return json(res, 400, { error: `the body needs "hashes": an array of blob hashes (64 lowercase hex digits)` });
    }
    return json(res, 200, { missing: blobs.missing(hashes as string[]) });
  }
  const hash = parts[2];
  if (parts.length !== 3 || !BLOB_HASH_PATTERN.test(hash)) return json(res, 400, { error: "a blob's path is /api/blobs/HASH, HASH being 64 lowercase hex digits" });
  if (req.method === "GET") return sendBlob(res, hash, blobs);
  if (req.method !== "PUT") return json(res, 405, { error: `use PUT /api/blobs/${hash} with the tree's bytes, or GET /api/blobs/${hash} to read it` });
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limits.maxBlobBytes) {
    return json(res, 413, { error: `the upload of ${declared} bytes is over the limit of ${limits.maxBlobBytes} bytes (limits.maxBlobBytes in the server's config.json)` });
  }
  try {
    await blobs.receive(hash, req, { maxBlobBytes: limits.maxBlobBytes, maxEntries: limits.maxBlobEntries, maxEntryBytes: limits.maxBlobBytes });
  } catch (error) {
    // The client went away mid-upload: nothing of it was kept, and there is no one to answer.
    if (req.destroyed && !(error instanceof BlobRefusedError)) return;
    if (!(error instanceof BlobRefusedError)) throw error;
    // The rest of the body is not read: close the connection once answered.
    res.setHeader("connection", "close");
    return json(res, 400, { error: error.message });
  }
  json(res, 200, { blob: hash, stored: true });
}

/** The blob as tree bytes, listed from its folder; the receiver checks them against HASH. */
async function sendBlob(res: ServerResponse, hash: string, blobs: BlobStore): Promise<void> {
  let files;
  try {
    files = blobs.has(hash) ? listTree(blobs.dir(hash)) : undefined;
  } catch {
    files = undefined; // removed by retention while being listed
  }
  if (!files) return json(res, 404, { error: `this server has no blob ${hash}: upload it first (PUT /api/blobs/${hash}; the CLI does it when it runs or deploys an app)` });
  await sendStream(res, { "content-type": "application/octet-stream", "content-length": treeByteLength(files) }, treeBytes(files));
}
