import { UsageError, volumeMountProblem, type VolumeMount, type VolumeReply } from "@stubrun/protocol";
import type { FromNameOptions } from "./dict";
import { ObjectTarget } from "./object-target";
import { VolumeContent } from "./volume-content";

/** Where this process (a worker) mounts each Volume, by name: set by the worker at its start. */
const mounted = new Map<string, { path: string }>();

/** How many times `reload` reads the head again when a commit replaced it mid-load. */
const MAX_LOAD_ATTEMPTS = 10;

/**
 * A folder of files on the server that functions share (Modal's `modal.Volume`), mounted on a
 * function at a path: `@stub.function({ volumes: { "/data": vol } })`. Each worker gets its own
 * copy of the Volume's last committed version at that path when it starts; `commit()` makes what
 * it wrote there the Volume's new version (the whole folder: the last commit wins), and
 * `reload()` replaces its copy with the last committed version. Content travels through the
 * server by content hash, so it works the same on every worker node. See docs/volumes.md.
 */
export class Volume {
  private constructor(private readonly target: ObjectTarget) {}

  /** The Volume called `name` (in the app's environment); nothing is sent until it is used. */
  static fromName(name: string, options: FromNameOptions = {}): Volume {
    return new Volume(ObjectTarget.named("Volume", name, options.createIfMissing === true));
  }

  get name(): string {
    return this.target.name;
  }

  /** The mount as the manifest carries it (internal). */
  toMount(path: string): VolumeMount {
    return { path, name: this.name, ...(this.target.createIfMissing ? { create: true } : {}) };
  }

  /**
   * Makes the content of the mount path the Volume's new version, for every worker that loads or
   * reloads it from now on. Only in a function that mounts this Volume.
   */
  async commit(): Promise<void> {
    const mount = this.mount("commit");
    const hash = await VolumeContent.fromEnv().store(mount.path);
    await this.target.send<VolumeReply>({ op: "commit", hash });
  }

  /** Replaces the content of the mount path with the Volume's last committed version (what this worker wrote and did not commit is lost). */
  async reload(): Promise<void> {
    const mount = this.mount("reload");
    const content = VolumeContent.fromEnv();
    // A commit between reading the head and loading it replaces that head: read it again.
    for (let attempt = 1; attempt <= MAX_LOAD_ATTEMPTS; attempt++) {
      const head = await this.target.send<VolumeReply>({ op: "head" });
      if (await content.load(mount.path, head)) return;
    }
    throw new Error(`Volume "${this.name}" changed ${MAX_LOAD_ATTEMPTS} times while it was being loaded (others commit to it very often): reload again`);
  }

  private mount(what: string): { path: string } {
    const found = mounted.get(this.name);
    if (!found) {
      throw new UsageError(`Volume "${this.name}".${what}() works in a function that mounts it: add volumes: { "/data": Volume.fromName(${JSON.stringify(this.name)}) } to its @stub.function() options (or use npx stubrun volume get/put from the shell)`);
    }
    return found;
  }
}

/**
 * Loads each Volume a worker's function mounts into its path (called by the worker before it is
 * ready; internal). A missing Volume without `create` fails the worker's start with the reason.
 */
export async function mountVolumes(mounts: VolumeMount[]): Promise<void> {
  for (const m of mounts) {
    mounted.set(m.name, { path: m.path });
    await Volume.fromName(m.name, { createIfMissing: m.create === true }).reload();
  }
}

/** A function's or stub's `volumes` option as manifest mounts, sorted by path (checked when the decorator is applied). */
export function volumeMounts(value: unknown, where: string): VolumeMount[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new UsageError(`${where}: "volumes" must be an object of mount paths to Volumes, like { "/data": Volume.fromName("data") }`);
  return Object.entries(value as Record<string, unknown>)
    .map(([path, volume]) => {
      if (!(volume instanceof Volume)) throw new UsageError(`${where}: volumes[${JSON.stringify(path)}] must be a Volume (Volume.fromName(...))`);
      const problem = volumeMountProblem(path);
      if (problem) throw new UsageError(`${where}: volumes: ${problem}`);
      return volume.toMount(path);
    })
    .sort((a, b) => (a.path < b.path ? -1 : 1));
}
