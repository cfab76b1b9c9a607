/**
 * Status and progress lines: always on stderr (stdout carries only what the program prints),
 * silenced by `--quiet`.
 */
export class Status {
  constructor(private readonly quiet: boolean) {}

  line(text: string): void {
    if (!this.quiet) process.stderr.write(`${text}\n`);
  }
}
