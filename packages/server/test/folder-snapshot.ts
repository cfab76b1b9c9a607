import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/** Every entry of a folder: path, then the file's content hash (and whether it is executable) or the link's target. */
export function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (abs: string, rel: string) => {
    for (const entry of fs.readdirSync(abs, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const childAbs = path.join(abs, entry.name);
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isSymbolicLink()) out.push(`${childRel} -> ${fs.readlinkSync(childAbs)}`);
      else if (entry.isDirectory()) walk(childAbs, childRel);
      else out.push(`${childRel}${fs.statSync(childAbs).mode & 0o111 ? " (x)" : ""}: ${createHash("sha256").update(fs.readFileSync(childAbs)).digest("hex").slice(0, 16)}`);
    }
  };
  walk(dir, "");
  return out;
}
