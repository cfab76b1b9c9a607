/**
 * Caps the output one worker writes outside its calls (a timer left running after a function
 * returned, enter and exit hooks) at `maxBytes` UTF-8 bytes: what fits passes, then one note
 * says the rest is dropped, then nothing.
 */
export class OutputBudget {
  private used = 0;
  private exhausted = false;

  constructor(
    private readonly maxBytes: number,
    /** The note written once the budget is spent. */
    private readonly note: string,
  ) {}

  /** What of `data` may be passed on: all of it, a prefix followed by the note, or nothing. */
  take(data: string): string[] {
    if (this.exhausted) return [];
    const bytes = Buffer.byteLength(data, "utf8");
    if (this.used + bytes <= this.maxBytes) {
      this.used += bytes;
      return [data];
    }
    this.exhausted = true;
    const buffer = Buffer.from(data, "utf8");
    let room = this.maxBytes - this.used;
    while (room > 0 && (buffer[room] & 0xc0) === 0x80) room--; // never cut a character in two
    this.used = this.maxBytes;
    const head = buffer.subarray(0, room).toString("utf8");
    return head ? [head, this.note] : [this.note];
  }
}
