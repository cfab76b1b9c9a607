/**
 * How long the calls and logs repositories hold their writes before one transaction writes them
 * all. Not `setImmediate`: that ran in the same turn as the call it recorded, before the turn's
 * messages to workers and clients went out, and a transaction (tens of µs) sat on every round
 * trip. A timer writes after them, and gathers the writes of several turns. Readers flush first.
 */
export const WRITE_DELAY_MS = 2;
