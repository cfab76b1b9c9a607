import { RequestRefusedError, type CodeFile } from "@stubrun/protocol";
import path from "node:path";

/**
 * Checks that an upload's files can be written as one folder: no path twice (which content
 * would win?), and no path that is both a file and a folder (`a` and `a/b.js`). Paths are
 * already relative and inside the upload (validate.ts); `./a` and `a` are the same file.
 */
export function checkUploadFiles(files: CodeFile[]): void {
  const paths = new Set<string>();
  for (const file of files) {
    const normal = path.posix.normalize(file.path);
    if (paths.has(normal)) throw new RequestRefusedError(`the upload has the file "${file.path}" twice`);
    paths.add(normal);
  }
  for (const file of files) {
    const parts = path.posix.normalize(file.path).split("/");
    for (let i = 1; i < parts.length; i++) {
      const folder = parts.slice(0, i).join("/");
      if (paths.has(folder)) throw new RequestRefusedError(`the upload has "${folder}" both as a file and as the folder of "${file.path}"`);
    }
  }
}
