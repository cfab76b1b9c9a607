import { serverUrlFromEnv, UsageError, type ObjectSummary } from "@stubrun/protocol";
import fs from "node:fs";
import path from "node:path";
import type { Argv, CommandModule } from "yargs";
import { ApiClient } from "../api-client";
import type { CliContext } from "../cli-context";
import { Status } from "../status";
import { confirm, localTime, printTable } from "./terminal";
import { changeVolume, insidePath, VolumeCopy, volumePath, type VolumeFile } from "./volume-copy";

/** `stubrun volume list | ls | get | put | rm | delete`: the server's Volumes (`Volume.fromName` in code). */
export function volumeCommand(context: CliContext): CommandModule {
  const api = () => new ApiClient(serverUrlFromEnv(), context.home, new Status(false));
  const name = (y: Argv) => y.positional("name", { type: "string", describe: "the Volume's name" });
  return {
    command: "volume",
    describe: "List the Volumes, list, get, put or remove their files, delete one (Volume.fromName in code)",
    builder: (yargs: Argv) =>
      yargs
        .command({
          command: "list",
          describe: "List the Volumes: name, version, created",
          builder: (y: Argv) => y.option("json", { type: "boolean", default: false, describe: "Print them as a JSON array" }),
          handler: async (args) => listVolumes(api(), args.json as boolean),
        })
        .command({
          command: "ls <name> [path]",
          describe: "List the files and folders at PATH in a Volume (its root by default)",
          builder: (y: Argv) => name(y).positional("path", { type: "string", default: "/" }),
          handler: async (args) => listFiles(api(), String(args.name), String(args.path)),
        })
        .command({
          command: "get <name> <path> [local]",
          describe: "Copy a file or folder of a Volume here (LOCAL: where; its own name by default; - prints a file)",
          builder: (y: Argv) => name(y).positional("path", { type: "string" }).positional("local", { type: "string" }).option("force", { type: "boolean", default: false, describe: "Replace LOCAL if it exists" }),
          handler: async (args) => getFile(api(), String(args.name), String(args.path), args.local as string | undefined, args.force as boolean),
        })
        .command({
          command: "put <name> <local> [path]",
          describe: "Copy a local file or folder into a Volume (at PATH; /its own name by default), and commit; creates the Volume if needed",
          builder: (y: Argv) => name(y).positional("local", { type: "string" }).positional("path", { type: "string" }),
          handler: async (args) => putFile(api(), String(args.name), String(args.local), args.path as string | undefined),
        })
        .command({
          command: "rm <name> <path>",
          describe: "Remove a file (a folder with -r) from a Volume, and commit",
          builder: (y: Argv) => name(y).positional("path", { type: "string" }).option("recursive", { alias: "r", type: "boolean", default: false, describe: "Remove a folder with what it holds" }),
          handler: async (args) => removeFile(api(), String(args.name), String(args.path), args.recursive as boolean),
        })
        .command({
          command: "delete <name>",
          describe: "Delete a Volume with its files",
          builder: (y: Argv) => name(y).option("yes", { alias: "y", type: "boolean", default: false, describe: "Do not ask for confirmation" }),
          handler: async (args) => deleteVolume(api(), String(args.name), args.yes as boolean),
        })
        .demandCommand(1, "Say what to do: volume list, volume ls NAME [PATH], volume get NAME PATH [LOCAL], volume put NAME LOCAL [PATH], volume rm NAME PATH or volume delete NAME"),
    handler: () => {},
  };
}

async function listVolumes(api: ApiClient, asJson: boolean): Promise<void> {
  const volumes = await api.get<ObjectSummary[]>("/api/volumes");
  if (asJson) return void process.stdout.write(`${JSON.stringify(volumes, null, 2)}\n`);
  if (volumes.length === 0) return void process.stderr.write(`No Volumes yet: make one in code with Volume.fromName(NAME, { createIfMissing: true }), or with npx stubrun volume put NAME LOCAL\n`);
  printTable([["NAME", "VERSION", "CREATED"], ...volumes.map((v) => [v.name, String(v.len), localTime(v.createdAt)])]);
}

/** `ls`: the direct children of PATH, folders with a trailing "/", one a line (size in bytes after a tab). */
async function listFiles(api: ApiClient, name: string, given: string): Promise<void> {
  const inside = insidePath(given);
  const { files } = await api.get<{ files: VolumeFile[] }>(volumePath(name, "/files"));
  const prefix = inside === "" ? "" : `${inside}/`;
  if (files.some((f) => f.path === inside)) {
    const file = files.find((f) => f.path === inside) as VolumeFile;
    return void process.stdout.write(`${path.posix.basename(file.path)}\t${file.size}\n`);
  }
  const below = files.filter((f) => f.path.startsWith(prefix));
  if (below.length === 0 && inside !== "") throw new UsageError(`Volume ${name} has no file or folder ${JSON.stringify(given)}; see its root with: npx stubrun volume ls ${name}`);
  const entries = new Map<string, string>();
  for (const f of below) {
    const [first, ...rest] = f.path.slice(prefix.length).split("/");
    entries.set(rest.length > 0 ? `${first}/` : first, rest.length > 0 ? "" : String(f.size));
  }
  for (const [entry, size] of [...entries].sort(([a], [b]) => (a < b ? -1 : 1))) process.stdout.write(size ? `${entry}\t${size}\n` : `${entry}\n`);
}

async function getFile(api: ApiClient, name: string, given: string, local: string | undefined, force: boolean): Promise<void> {
  const inside = insidePath(given);
  const copy = await VolumeCopy.open(api, name);
  try {
    const source = copy.at(inside);
    const stat = fs.lstatSync(source, { throwIfNoEntry: false });
    if (!stat) throw new UsageError(`Volume ${name} has no file or folder ${JSON.stringify(given)}; see its files with: npx stubrun volume ls ${name}`);
    // yargs reads a lone "-" as "": both mean stdout.
    if (local === "-" || local === "") {
      if (!stat.isFile()) throw new UsageError(`${given} is a folder: give a local path to copy it to, not -`);
      return void process.stdout.write(fs.readFileSync(source));
    }
    const target = path.resolve(local ?? (inside === "" ? name : path.posix.basename(inside)));
    if (fs.existsSync(target) && !force) throw new UsageError(`${target} exists: give another LOCAL path, or --force to replace it`);
    fs.rmSync(target, { recursive: true, force: true });
    fs.cpSync(source, target, { recursive: true, verbatimSymlinks: true });
    process.stderr.write(`Copied ${name}:/${inside} to ${target}\n`);
  } finally {
    copy.close();
  }
}

async function putFile(api: ApiClient, name: string, local: string, given: string | undefined): Promise<void> {
  const stat = fs.statSync(local, { throwIfNoEntry: false });
  if (!stat) throw new UsageError(`${local} does not exist: give a local file or folder to put`);
  const inside = insidePath(given ?? path.basename(path.resolve(local)));
  if (inside === "" && !stat.isDirectory()) throw new UsageError(`a file needs a PATH in the Volume, like /${path.basename(local)}`);
  await changeVolume(api, name, true, (copy) => {
    const target = copy.at(inside);
    if (inside !== "") fs.rmSync(target, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.cpSync(local, target, { recursive: true, dereference: true });
  });
  process.stderr.write(`Put ${local} in ${name}:/${inside} (committed)\n`);
}

async function removeFile(api: ApiClient, name: string, given: string, recursive: boolean): Promise<void> {
  const inside = insidePath(given);
  if (inside === "") throw new UsageError(`rm removes a file or folder in a Volume, not its root: to remove all of it, npx stubrun volume delete ${name}`);
  await changeVolume(api, name, false, (copy) => {
    const target = copy.at(inside);
    const stat = fs.lstatSync(target, { throwIfNoEntry: false });
    if (!stat) throw new UsageError(`Volume ${name} has no file or folder ${JSON.stringify(given)}; see its files with: npx stubrun volume ls ${name}`);
    if (stat.isDirectory() && !recursive) throw new UsageError(`${given} is a folder: remove it with what it holds with -r`);
    fs.rmSync(target, { recursive: true, force: true });
  });
  process.stderr.write(`Removed ${name}:/${inside} (committed)\n`);
}

/** Off a terminal it needs --yes, since nothing of it can be brought back. */
async function deleteVolume(api: ApiClient, name: string, yes: boolean): Promise<void> {
  const found = await api.get<ObjectSummary>(volumePath(name));
  await confirm(`Delete Volume ${name} (version ${found.len}) with its files?`, { yes, refused: "not deleted", strict: `deleting Volume ${name} removes it and its files for good: confirm with --yes` });
  await api.delete(volumePath(name));
  process.stderr.write(`Deleted Volume ${name}\n`);
}
