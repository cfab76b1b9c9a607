import { Dict, Stub } from "stubrun";

// One file, two environments on one server:
//   npx stubrun deploy examples/environments.ts --env dev
//   npx stubrun deploy examples/environments.ts --env prod
//   curl SERVER/web/prod/env-example/Greeter.where      -> "hello from prod"
//   npx stubrun call --env dev env-example Greeter.visit  -> dev's own counter
const stub = new Stub("env-example");

class Greeter {
  /** A function runs in its app's environment, which its workers see as STUBRUN_ENV. */
  @stub.webEndpoint()
  where(): string {
    return `hello from ${process.env.STUBRUN_ENV}`;
  }

  /** Each environment has its own Dict "visits". */
  @stub.function()
  async visit(): Promise<number> {
    return Dict.fromName<string, number>("visits", { createIfMissing: true }).update("n", (n = 0) => n + 1);
  }
}
