/** The run command's arguments, as yargs would give them to its handler. */
export interface RunArgs {
  target: string;
  quiet: boolean;
  detach: boolean;
  /** `--env NAME`, given before FILE. */
  env?: string;
  /** Everything after FILE: the entrypoint's options. */
  "--"?: string[];
}

/**
 * Reads `run [flags] FILE -- rest` (argv as normalizeArgv makes it) without yargs, when the flags
 * are only `-q`/`--quiet`, `--detach` and `--env NAME`: loading and running yargs was a tenth of
 * `stubrun hello.ts` (issue 11). Anything else (`--help`, a typo, `--quiet=false`) gives
 * undefined, and yargs reads it and says what is wrong, as it always has.
 */
export function simpleRunArgs(normalized: string[]): RunArgs | undefined {
  if (normalized[0] !== "run") return undefined;
  const args: RunArgs = { target: "", quiet: false, detach: false };
  let i = 1;
  for (; i < normalized.length && normalized[i].startsWith("-"); i++) {
    const flag = normalized[i];
    if (flag === "-q" || flag === "--quiet") args.quiet = true;
    else if (flag === "--detach") args.detach = true;
    else if (flag === "--env" && /^[^-]/.test(normalized[i + 1] ?? "")) args.env = normalized[++i];
    else return undefined;
  }
  const target = normalized[i];
  if (!target || normalized[i + 1] !== "--") return undefined;
  return { ...args, target, "--": normalized.slice(i + 2) };
}
