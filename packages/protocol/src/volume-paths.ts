/** Folders a Volume may not be mounted on or under: the sandbox's system folders, /proc and /dev. */
const RESERVED = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt", "/proc", "/dev"];

/**
 * Why `mountPath` cannot hold a Volume, or undefined when it can: a Volume is mounted inside a
 * worker's sandbox, at an absolute, normalized path outside the system's folders ("/data",
 * "/tmp/cache"); mounts may not nest.
 */
export function volumeMountProblem(mountPath: string): string | undefined {
  const shown = JSON.stringify(mountPath);
  if (!mountPath.startsWith("/")) return `the mount path ${shown} must be absolute, like "/data" (it is a path inside the worker's sandbox)`;
  if (mountPath.length > 256 || mountPath.includes("\0")) return `the mount path ${shown} is too long or holds a NUL`;
  const parts = mountPath.split("/").slice(1);
  if (parts.some((p) => p === "" || p === "." || p === "..")) return `the mount path ${shown} must be normalized: no "//", ".", ".." or trailing "/" (and not "/" itself)`;
  const reserved = RESERVED.find((dir) => mountPath === dir || mountPath.startsWith(`${dir}/`));
  if (reserved) return `the mount path ${shown} is in ${reserved}, which the sandbox keeps for the system: use a folder of its own, like "/data"`;
  if (mountPath === "/tmp") return `the mount path "/tmp" is the worker's private /tmp: use a folder of its own, like "/data" or "/tmp/data"`;
  return undefined;
}

/** Mount paths that nest (one inside another), if any: "/data" and "/data/x" cannot both be mounts. */
export function nestedMountPaths(paths: string[]): [string, string] | undefined {
  for (const a of paths) for (const b of paths) if (a !== b && b.startsWith(`${a}/`)) return [a, b];
  return undefined;
}
