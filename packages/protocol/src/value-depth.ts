/**
 * How deeply a parsed JSON value nests, checked without recursion, so a hostile value (100,000
 * arrays inside each other) is measured in linear time and never overflows the stack.
 */

/** The nesting depth of arrays and objects in `value` (a scalar is 0), or `Infinity` once it passes `max`. */
export function valueDepth(value: unknown, max: number): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop() as [unknown, number];
    if (typeof item !== "object" || item === null) continue;
    const here = depth + 1;
    if (here > max) return Infinity;
    if (here > deepest) deepest = here;
    const children = Array.isArray(item) ? item : Object.values(item);
    for (const child of children) if (typeof child === "object" && child !== null) stack.push([child, here]);
  }
  return deepest;
}

/** Whether `value` nests at most `max` arrays and objects deep. */
export function isWithinDepth(value: unknown, max: number): boolean {
  return valueDepth(value, max) <= max;
}
