import { clientToken, emptyFolder, listTree, packTree, serverUrlFromEnv, treeBytes, unpackTree, type VolumeReply } from "@stubrun/protocol";

/** What a Volume's tree may hold when it is read back: the server checked it against its limits on upload. */
const READ_LIMITS = { maxEntries: 10_000_000, maxEntryBytes: Number.MAX_SAFE_INTEGER };

/**
 * A Volume's content moves through the server's blob store by content hash (`/api/blobs`), with
 * the worker's own credential (its STUBRUN_TOKEN): the same bytes whichever node the worker is on.
 */
export class VolumeContent {
  private constructor(
    private readonly url: string,
    private readonly token: string | undefined,
  ) {}

  /** The server this process talks to, with its credential. */
  static fromEnv(): VolumeContent {
    const url = serverUrlFromEnv();
    return new VolumeContent(url, clientToken(url)?.token);
  }

  /**
   * Replaces the folder's content with the head's tree (an empty folder for a Volume never
   * committed). False, with the folder unchanged, when that head was replaced in between (a
   * worker may read current heads only): read the head again.
   */
  async load(dir: string, head: VolumeReply): Promise<boolean> {
    if (head.hash === null) return emptyFolder(dir), true;
    const res = await this.fetch(`/api/blobs/${head.hash}`);
    if (res.status === 403 || res.status === 404) return await res.text(), false;
    if (!res.ok || !res.body) throw new Error(`loading a Volume's content (blob ${head.hash}) failed: ${await errorOf(res)}`);
    emptyFolder(dir);
    await unpackTree(res.body as unknown as AsyncIterable<Uint8Array>, dir, READ_LIMITS);
    return true;
  }

  /** Packs the folder as a tree, uploads it unless the server has it, and returns its hash. */
  async store(dir: string): Promise<string> {
    const tree = packTree(listTree(dir));
    const asked = await this.fetch("/api/blobs/missing", { method: "POST", body: JSON.stringify({ hashes: [tree.hash] }), headers: { "content-type": "application/json" } });
    if (!asked.ok) throw new Error(`committing a Volume failed: ${await errorOf(asked)}`);
    const { missing } = (await asked.json()) as { missing: string[] };
    if (missing.length === 0) return tree.hash;
    const init = { method: "PUT", body: treeBytes(tree.files), duplex: "half", headers: { "content-type": "application/octet-stream", "content-length": String(tree.bytes) } };
    const put = await this.fetch(`/api/blobs/${tree.hash}`, init as unknown as RequestInit);
    if (!put.ok) throw new Error(`committing a Volume (${tree.bytes} bytes) failed: ${await errorOf(put)}`);
    return tree.hash;
  }

  private fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = { ...(init.headers as Record<string, string> | undefined), ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) };
    return fetch(new URL(path, this.url), { ...init, headers });
  }
}

async function errorOf(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  try {
    return (JSON.parse(text) as { error?: string }).error ?? `HTTP ${res.status}`;
  } catch {
    return `HTTP ${res.status} ${text.slice(0, 200)}`;
  }
}
