/**
 * Ends a command with an exit code, having already said what there was to say. Handlers throw
 * it (or return normally for 0); `main()` turns it into the code, and only the bin sets
 * `process.exitCode` (DESIGN §6).
 */
export class ExitStatus extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
    this.name = "ExitStatus";
  }
}

/** The code for Ctrl-C. */
export const INTERRUPTED = 130;
