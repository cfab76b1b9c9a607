/**
 * How deeply a parsed JSON value nests, checked without recursion, so a hostile value (100,000
 * arrays inside each other) is measured in linear time and never overflows the stack.
 */

/** The nesting depth of arrays and objects in `value` (a scalar is 0), or `Infinity` once it passes `max`. */
export function valueDepth(value: unknown, max: number): number {
  if (typeof value !== "object" || value === null) return 0;
  if (max < 1) return Infinity;
  // Depth-first with one cursor per open container: the stack holds at most `max` entries, where
  // pushing every child first would hold (and allocate for) millions for one wide array.
  const lists: unknown[][] = [childrenOf(value)];
  const cursors: number[] = [0];
  let deepest = 1;
  while (lists.length > 0) {
    const top = lists.length - 1;
    const list = lists[top];
    const i = cursors[top];
    if (i >= list.length) {
      lists.pop();
      cursors.pop();
      continue;
    }
    cursors[top] = i + 1;
    const child = list[i];
    if (typeof child !== "object" || child === null) continue;
    const here = lists.length + 1;
    if (here > max) return Infinity;
    if (here > deepest) deepest = here;
    lists.push(childrenOf(child));
    cursors.push(0);
  }
  return deepest;
}

function childrenOf(item: object): unknown[] {
  return Array.isArray(item) ? item : Object.values(item);
}

/** Whether `value` nests at most `max` arrays and objects deep. */
export function isWithinDepth(value: unknown, max: number): boolean {
  return valueDepth(value, max) <= max;
}
