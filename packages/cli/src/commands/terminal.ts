import { UsageError } from "@stubrun/protocol";
import readline from "node:readline/promises";

/** Prints rows as columns padded to their widest cell; the first row is the header. */
export function printTable(rows: string[][]): void {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const row of rows) process.stdout.write(`${row.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd()}\n`);
}

/** An ISO time as local "YYYY-MM-DD HH:MM:SS". */
export function localTime(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/**
 * Asks `question` on a terminal unless `yes`; throws a UsageError (`refused`) on anything but
 * y/yes. Off a terminal, `strict` refuses without asking (what cannot be undone needs --yes);
 * otherwise it goes ahead.
 */
export async function confirm(question: string, options: { yes: boolean; refused: string; strict?: string }): Promise<void> {
  if (options.yes) return;
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    if (options.strict) throw new UsageError(options.strict);
    return;
  }
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(`${question} [y/N] `);
  rl.close();
  if (!/^y(es)?$/i.test(answer.trim())) throw new UsageError(options.refused);
}
