/**
 * How long the calls and logs repositories hold their writes before one transaction writes them
 * all. Not `setImmediate`: that ran in the same turn as the call it recorded, before the turn's
 * messages to workers and clients went out, and a transaction (tens of µs) sat on every round
 * trip. A timer writes after them, and gathers the writes of several turns. Readers flush first.
 * 10 ms rather than 2: a commit costs ~0.1-0.3 ms of the server's time however few rows it
 * writes, and warm round trips (thousands a second) wrote ten rows a commit at 2 ms.
 */
export const WRITE_DELAY_MS = 10;

/**
 * How long a running call's row waits for the call's end before it is written: a `.map()`'s calls
 * wait in their queue for tens of ms, and a row written once, with its end, costs one INSERT
 * rather than an INSERT and an UPDATE. Readers flush first, so they see running calls at once.
 */
export const RUNNING_ROW_DELAY_MS = 200;
