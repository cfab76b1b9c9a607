/**
 * Wraps a listener (of a child's events, of a timer) so that nothing it throws escapes: the error
 * is logged on the server's stderr and the server goes on (DESIGN §5).
 */
export function guard<A extends unknown[]>(what: string, listener: (...args: A) => void): (...args: A) => void {
  return (...args: A) => {
    try {
      listener(...args);
    } catch (error) {
      console.error(`stubrun: internal error in ${what}:`, error);
    }
  };
}
