import fs from "node:fs";
import path from "node:path";
import type { CodeSource } from "./code-source";

/**
 * TEMPORARY, FOR TESTS ONLY: a CodeSource that reads the server's own code folders from a
 * folder this machine shares with it (`STUBRUN_TEST_SHARED_CODE_DIR`, the server's
 * `$STUBRUN_HOME/code`), used by the end-to-end test of worker nodes until the node fetches
 * code from the server by hash (`CodeCache`), which replaces it. Never on a real node's path:
 * `stubrun worker` uses it only when that variable is set.
 */
export class SharedFolderCodeSource implements CodeSource {
  constructor(private readonly codeRoot: string) {}

  async ensure(codeHash: string): Promise<string> {
    if (!/^[0-9a-f]{16,64}$/.test(codeHash)) throw new Error(`not a code hash: ${codeHash}`);
    const dir = path.join(this.codeRoot, codeHash);
    if (!fs.existsSync(dir)) throw new Error(`code ${codeHash.slice(0, 12)} is not in ${this.codeRoot}`);
    return dir;
  }
}
