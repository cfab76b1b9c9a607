import type { CodeRecipe } from "@stubrun/protocol";
import path from "node:path";
import { BlobStore, type BlobLimits } from "../code/blob.store";
import { CodeStore, type CodeLayer } from "../code/code.store";
import { CODE_HASH_PATTERN, parseCodeRecipe } from "../code/code-recipe";
import { DEFAULT_LIMITS } from "../config/limits";

/** How long a fetch may go without a byte before it counts as failed: a server that went silent. */
const IDLE_TIMEOUT_MS = 30_000;
/** Blobs fetched at once for one code folder. */
const PARALLEL_BLOBS = 4;

export interface CodeCacheOptions {
  /** What a fetched blob may be, as the server's own limits. @default the server's default limits */
  limits?: BlobLimits;
  /** Milliseconds without a byte after which a fetch fails. @default 30000 */
  idleTimeoutMs?: number;
}

/**
 * A worker node's copy of the server's code folders: `ensure(hash)` makes `<home>/code/<hash>/`,
 * the same files as the server's folder of that hash (node_modules and symbolic links included),
 * from what the server answers over HTTP (`GET /api/code/HASH`, then `GET /api/blobs/HASH` for
 * each package the node lacks), never from the server's disk. Blobs are checked against their
 * hash as they arrive and kept in `<home>/blobs`, so a package travels once per node.
 */
export class CodeCache {
  private readonly code: CodeStore;
  private readonly blobs: BlobStore;
  /** Folders being fetched: a second `ensure` of the same hash waits for the first. */
  private readonly fetching = new Map<string, Promise<string>>();
  private readonly limits: BlobLimits;
  private readonly idleTimeoutMs: number;
  private readonly serverUrl: string;

  /**
   * @param home the node's own `STUBRUN_HOME`
   * @param serverUrl the server's base URL (`stubrun worker --server URL`)
   * @param token the server's full token (`STUBRUN_TOKEN`), sent as `Authorization: Bearer`
   */
  constructor(
    home: string,
    serverUrl: string,
    private readonly token: string | undefined,
    options: CodeCacheOptions = {},
  ) {
    this.serverUrl = serverUrl.replace(/\/+$/, "");
    this.code = new CodeStore(path.join(home, "code"));
    this.blobs = new BlobStore(path.join(home, "blobs"));
    this.limits = options.limits ?? { maxBlobBytes: DEFAULT_LIMITS.maxBlobBytes, maxEntries: DEFAULT_LIMITS.maxBlobEntries, maxEntryBytes: DEFAULT_LIMITS.maxBlobBytes };
    this.idleTimeoutMs = options.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
  }

  /**
   * Removes what a node killed mid-fetch left half-written (staging folders and files). Call it
   * when the node starts, before any `ensure`, and only when no other process uses this home.
   */
  removeLeftoverStaging(): void {
    this.code.removeLeftoverStaging();
    this.blobs.removeLeftoverStaging();
  }

  /** The local code folder of `codeHash` (a code folder's name on the server), fetched when missing. */
  ensure(codeHash: string): Promise<string> {
    if (!CODE_HASH_PATTERN.test(codeHash)) return Promise.reject(new Error(`"${codeHash}" is not a code hash (32 lowercase hex digits)`));
    const local = path.join(this.code.directory, codeHash);
    if (this.code.recipePath(codeHash)) return Promise.resolve(local); // the recipe is there only beside a whole folder
    const running = this.fetching.get(codeHash);
    if (running) return running;
    const done = this.fetch(codeHash).finally(() => this.fetching.delete(codeHash));
    this.fetching.set(codeHash, done);
    return done;
  }

  private async fetch(codeHash: string): Promise<string> {
    const recipe = await this.recipe(codeHash);
    const missing = this.blobs.missing(recipe.layers.map((l) => l.blob));
    await inBatches(missing, PARALLEL_BLOBS, (blob) => this.fetchBlob(blob));
    const layers: CodeLayer[] = recipe.layers.map((l) => ({ ...l, dir: this.blobs.dir(l.blob) }));
    const dir = this.code.put(recipe.files, layers);
    if (path.basename(dir) !== codeHash) {
      throw new Error(
        `the code the server at ${this.serverUrl} sent for ${codeHash} rebuilt as ${path.basename(dir)} on this node: the server and this node run different stubrun versions (update both to the same one)`,
      );
    }
    return dir;
  }

  private async recipe(codeHash: string): Promise<CodeRecipe> {
    const what = `code ${codeHash}`;
    const res = await this.get(`/api/code/${codeHash}`, what);
    const chunks: Buffer[] = [];
    for await (const chunk of this.chunks(res, what)) chunks.push(chunk);
    const text = Buffer.concat(chunks).toString("utf8");
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new Error(`the server at ${this.serverUrl} answered ${what} with something that is not JSON: is ${this.serverUrl} a stubrun server?`);
    }
    try {
      return parseCodeRecipe(value);
    } catch (error) {
      throw new Error(`the server at ${this.serverUrl} sent a bad recipe for ${what}: ${(error as Error).message}`);
    }
  }

  private async fetchBlob(blob: string): Promise<void> {
    const what = `blob ${blob}`;
    const res = await this.get(`/api/blobs/${blob}`, what);
    try {
      await this.blobs.receive(blob, this.chunks(res, what), this.limits);
    } catch (error) {
      throw new Error(`fetching ${what} from the server at ${this.serverUrl} failed: ${(error as Error).message}`);
    }
  }

  /** GET `pathname` with the token; a Response whose status is 200, or an Error that says what to do. */
  private async get(pathname: string, what: string): Promise<Response> {
    const url = `${this.serverUrl}${pathname}`;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.idleTimeoutMs);
    let res: Response;
    try {
      res = await fetch(url, { headers: this.token ? { authorization: `Bearer ${this.token}` } : {}, signal: controller.signal });
    } catch (error) {
      const cause = controller.signal.aborted ? `no answer in ${this.idleTimeoutMs / 1000} s` : describeCause(error);
      throw new Error(`cannot reach the stubrun server at ${this.serverUrl} to fetch ${what} (${cause}): check the worker's --server URL and that the server runs and listens on an address this host reaches`);
    } finally {
      clearTimeout(timer);
    }
    if (res.status === 200) return res;
    const said = await errorOf(res);
    if (res.status === 401) {
      throw new Error(
        this.token
          ? `the server at ${this.serverUrl} refused the token (STUBRUN_TOKEN) when asked for ${what}: set STUBRUN_TOKEN to the server's token`
          : `the server at ${this.serverUrl} needs a token (STUBRUN_TOKEN is not set) to send ${what}: set STUBRUN_TOKEN to the server's token`,
      );
    }
    if (res.status === 404) throw new Error(`the server at ${this.serverUrl} has no ${what}${said ? `: ${said}` : ""}`);
    throw new Error(`the server at ${this.serverUrl} answered ${res.status} when asked for ${what}${said ? `: ${said}` : ""}`);
  }

  /** A response body as Buffers; fails when no byte comes for the idle timeout, or the connection breaks. */
  private async *chunks(res: Response, what: string): AsyncGenerator<Buffer> {
    const { idleTimeoutMs: idleMs, serverUrl } = this;
    const reader = res.body!.getReader();
    try {
      for (;;) {
        let timer: NodeJS.Timeout | undefined;
        const idle = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the server at ${serverUrl} sent nothing for ${idleMs / 1000} s while sending ${what}`)), idleMs);
        });
        let step: { done: true; value?: undefined } | { done: false; value: Uint8Array };
        try {
          step = await Promise.race([reader.read(), idle]);
        } catch (error) {
          if ((error as Error).message.startsWith("the server at")) throw error;
          throw new Error(`the connection to the server at ${serverUrl} broke while it sent ${what} (${describeCause(error)})`);
        } finally {
          clearTimeout(timer);
        }
        if (step.done) return;
        yield Buffer.from(step.value.buffer, step.value.byteOffset, step.value.byteLength);
      }
    } finally {
      reader.cancel().catch(() => undefined);
    }
  }
}

/** The `error` of a JSON error body, if there is one. */
async function errorOf(res: Response): Promise<string | undefined> {
  try {
    const body = (await res.json()) as { error?: unknown };
    return typeof body.error === "string" ? body.error : undefined;
  } catch {
    return undefined;
  }
}

/** What a failed fetch says: Node's fetch hides the real cause (ECONNREFUSED, ...) in `cause`. */
function describeCause(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

/** Runs `work` over `items`, at most `width` at once; rejects with the first failure once all ran. */
async function inBatches<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown;
  const lane = async () => {
    while (next < items.length && failure === undefined) {
      const item = items[next++];
      try {
        await work(item);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, lane));
  if (failure !== undefined) throw failure;
}
