import * as client from "../../packages/client/src";
import * as sdk from "../../packages/sdk/src";
import * as stubrun from "../../packages/stubrun/src";

/**
 * A worker gives uploaded code its own `@stubrun/sdk` for `stubrun` and `@stubrun/client`
 * (worker/src/module-resolution.ts): the SDK must export every name those two packages do.
 */
describe("public exports", () => {
  test("the sdk exports everything stubrun does", () => {
    expect(Object.keys(stubrun)).toEqual(expect.arrayContaining(["Stub", "fn", "lookup", "FunctionCall", "Cron", "Period", "StubrunError"]));
    expect(Object.keys(stubrun).filter((name) => !(name in sdk))).toEqual([]);
  });

  test("the sdk exports everything @stubrun/client does, and the client exports lookup, FunctionCall, Dict, Queue, the errors and registerErrorClass", () => {
    expect(Object.keys(client).filter((name) => !(name in sdk))).toEqual([]);
    expect(Object.keys(client).sort()).toEqual(
      ["lookup", "FunctionCall", "registerErrorClass", "StubrunError", "UsageError", "UncarriableValueError", "ServerUnavailableError", "RequestRefusedError", "WorkerCrashedError", "FunctionTimeoutError", "CallCancelledError", "WorkerStartError", "CallWaitTimeoutError", "Dict", "Queue"].sort(),
    );
  });
});
