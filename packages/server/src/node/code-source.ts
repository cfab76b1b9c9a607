/**
 * Where a worker node gets an app's code: `ensure(codeHash)` resolves to a local folder holding
 * the code folder of that content hash (the server's `$STUBRUN_HOME/code/<hash>/`, packages and
 * added files included). `CodeCache` fetches it from the server by hash into the node's own home.
 */
export interface CodeSource {
  ensure(codeHash: string): Promise<string>;
}
