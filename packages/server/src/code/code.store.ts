import type { CodeFile } from "@stubrun/protocol";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/**
 * Uploaded code, kept by content hash under `$STUBRUN_HOME/code/<hash>/`. A directory never
 * changes once written, so a running version's code never changes under it.
 */
export class CodeStore {
  constructor(private readonly root: string) {}

  /** Stores the files (once per content) and returns their directory. */
  put(files: CodeFile[]): string {
    const hash = createHash("sha256");
    for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : 1))) {
      hash.update(file.path).update("\0").update(file.code).update("\0");
    }
    const dir = path.join(this.root, hash.digest("hex").slice(0, 32));
    if (fs.existsSync(dir)) return dir;
    const staging = `${dir}.tmp-${process.pid}-${Date.now()}`;
    for (const file of files) {
      const target = path.join(staging, file.path);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, file.code);
    }
    // Uploads are compiled to CommonJS, whatever the user's package.json says.
    fs.writeFileSync(path.join(staging, "package.json"), '{ "type": "commonjs" }\n');
    try {
      fs.renameSync(staging, dir);
    } catch (error) {
      fs.rmSync(staging, { recursive: true, force: true });
      if (!fs.existsSync(dir)) throw error;
    }
    return dir;
  }
}
