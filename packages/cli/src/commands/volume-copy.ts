import { listTree, packTree, treeBytes, unpackTree, UsageError, type ObjectSummary, type VolumeReply } from "@stubrun/protocol";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ApiClient } from "../api-client";

/** A Volume's file as `GET /api/volumes/NAME/files` lists it. */
export interface VolumeFile {
  path: string;
  kind: "f" | "x" | "l";
  size: number;
}

/** What the server read back of a tree: it checked it against its limits when it was stored. */
const READ_LIMITS = { maxEntries: 10_000_000, maxEntryBytes: Number.MAX_SAFE_INTEGER };

/** `/api/volumes/NAME...` */
export function volumePath(name: string, rest = ""): string {
  return `/api/volumes/${encodeURIComponent(name)}${rest}`;
}

/** A path inside a Volume as the commands take it ("/a/b", "a/b", "/" for the root): "" for the root, else "a/b". */
export function insidePath(given: string): string {
  const parts = given.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.some((p) => p === "..")) throw new UsageError(`the path ${JSON.stringify(given)} must stay inside the Volume (no "..")`);
  return parts.join("/");
}

/**
 * A Volume's last committed version as a folder on this machine, for `get` to copy from and
 * `put` and `rm` to change and commit back. Their commit names the version it started from, so
 * a commit made meanwhile (by a function or another command) is not overwritten: it starts over.
 */
export class VolumeCopy {
  private constructor(
    readonly dir: string,
    readonly version: number,
  ) {}

  /** Downloads the head of `name` (an empty folder for a new Volume; `missingOk` for `put`, which creates it). */
  static async open(api: ApiClient, name: string, missingOk = false): Promise<VolumeCopy> {
    let summary: ObjectSummary | undefined;
    try {
      summary = await api.get<ObjectSummary>(volumePath(name));
    } catch (error) {
      if (!(missingOk && error instanceof UsageError)) throw error;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stubrun-volume-"));
    if (summary?.head) await unpackTree(await api.download(`/api/blobs/${summary.head}`), dir, READ_LIMITS);
    return new VolumeCopy(dir, summary?.len ?? 0);
  }

  /** The local path of `inside` ("" for the root). */
  at(inside: string): string {
    return inside === "" ? this.dir : path.join(this.dir, ...inside.split("/"));
  }

  /** Uploads the folder and makes it the head, if the Volume is still at the version it was read at; false when another commit came first. */
  async commit(api: ApiClient, name: string): Promise<boolean> {
    const tree = packTree(listTree(this.dir));
    const { missing } = await api.post<{ missing: string[] }>("/api/blobs/missing", { hashes: [tree.hash] });
    if (missing.length > 0) await api.put(`/api/blobs/${tree.hash}`, treeBytes(tree.files), tree.bytes);
    const reply = await api.post<VolumeReply>(volumePath(name, "/commit"), { hash: tree.hash, ifVersion: this.version, create: true });
    return reply.ok === true;
  }

  close(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Runs `change` on a fresh copy and commits it, again on a fresh copy while others commit in between (a few times). */
export async function changeVolume(api: ApiClient, name: string, missingOk: boolean, change: (copy: VolumeCopy) => void): Promise<void> {
  for (let attempt = 1; attempt <= 5; attempt++) {
    const copy = await VolumeCopy.open(api, name, missingOk);
    try {
      change(copy);
      if (await copy.commit(api, name)) return;
    } finally {
      copy.close();
    }
  }
  throw new UsageError(`Volume ${name} changed under this command 5 times in a row (functions commit to it): try again`);
}
