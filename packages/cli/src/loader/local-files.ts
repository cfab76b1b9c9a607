import path from "node:path";

/** stubrun's own packages, when they are linked from a checkout rather than installed in node_modules. */
const STUBRUN_PACKAGES = path.resolve(__dirname, "../../..") + path.sep;

/** A file of the user's own project (not a package, not stubrun itself): what gets uploaded. */
export function isLocal(filename: string): boolean {
  return !filename.split(path.sep).includes("node_modules") && !filename.startsWith(STUBRUN_PACKAGES);
}

/** A TypeScript file, which the loader compiles with SWC. */
export const TYPESCRIPT_FILE = /\.(c|m)?tsx?$/;
