/**
 * Where a worker node gets an app's code: `ensure(codeHash)` resolves to a local folder holding
 * the code folder of that content hash (the server's `$STUBRUN_HOME/code/<hash>/`, packages and
 * added files included). The node's real one fetches it from the server by hash into its own
 * cache (`CodeCache`); tests may share the server's folder (`SharedFolderCodeSource`).
 */
export interface CodeSource {
  ensure(codeHash: string): Promise<string>;
}

/** A CodeSource for a build that has no way to fetch code yet: every call fails, saying so. */
export class NoCodeSource implements CodeSource {
  ensure(codeHash: string): Promise<string> {
    return Promise.reject(new Error(`this build of stubrun worker cannot fetch code ${codeHash.slice(0, 12)} from the server yet`));
  }
}
