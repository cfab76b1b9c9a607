import { ProtocolError } from "../src/errors";
import { validateNodeMessage, validateToNodeMessage } from "../src/node-validate";

describe("validateNodeMessage (node -> server)", () => {
  test.each([
    { type: "node.hello", nodeId: "n1", slots: 4 },
    { type: "node.started", callId: "fc-1", attempt: 2 },
    { type: "node.output", callId: "fc-1", stream: "stderr", data: "x\n" },
    { type: "node.worker-output", appId: "ap-1", functionName: "A.f", stream: "stdout", data: "entered\n" },
    { type: "node.done", callId: "fc-1", outcome: { state: "succeeded", value: { $: "undefined" } } },
    { type: "node.done", callId: "fc-1", outcome: { state: "timed_out", error: { name: "FunctionTimeoutError", message: "late", code: "TIMEOUT" } } },
    { type: "node.env", id: 7, callId: "fc-1" },
    { type: "node.app-stopped", appId: "ap-1" },
    { type: "node.note", appId: "ap-1", line: "keepWarm workers keep exiting" },
    { type: "node.tasks", appId: "ap-1", count: 2 },
    { type: "node.env", id: 8, appId: "ap-1", functionName: "A.f" },
    { type: "node.workers", appId: "ap-1", codeHash: "abc", functionName: "A.f", idle: 2, ready: true },
  ])("accepts $type", (message) => {
    expect(validateNodeMessage(message)).toEqual(message);
  });

  test.each([
    [{ type: "node.hello", nodeId: "n1", slots: 0 }, /"slots" must be at least 1/],
    [{ type: "node.output", callId: "fc-1", stream: "stdin", data: "" }, /"stream" must be stdout or stderr/],
    [{ type: "node.done", callId: "fc-1", outcome: { state: "won" } }, /"state" must be succeeded, failed, cancelled or timed_out/],
    [{ type: "node.done", callId: "fc-1", outcome: { state: "failed", error: "boom" } }, /"error" must be an object/],
    [{ type: "node.steal", callId: "fc-1" }, /unknown node message type "node.steal"/],
    [[], /must be a JSON object/],
    [{ type: "node.workers", appId: "ap-1", codeHash: "abc", functionName: "A.f", idle: -1, ready: true }, /"idle" must not be negative/],
    [{ type: "node.workers", appId: "ap-1", codeHash: "abc", functionName: "A.f", idle: 0, ready: "yes" }, /"ready" must be true or false/],
  ])("refuses %j", (message, why) => {
    expect(() => validateNodeMessage(message)).toThrow(ProtocolError);
    expect(() => validateNodeMessage(message)).toThrow(why);
  });
});

describe("validateToNodeMessage (server -> node)", () => {
  test.each([
    { type: "node.functions", queues: [{ queue: "stubrun-ap-1-A.f", appId: "ap-1", functionName: "A.f", concurrencyLimit: 3 }], limits: { workerMemoryMb: 512, maxOutputBytesOutsideCalls: 1000 } },
    { type: "node.cancel", callId: "fc-1" },
    { type: "node.stop-app", appId: "ap-1" },
    { type: "node.retire", appId: "ap-1", codeHash: "abc" },
    { type: "node.env-reply", id: 1, ok: true, value: { appToken: "t", secrets: { KEY: "v" } } },
    { type: "node.env-reply", id: 1, ok: false, error: { name: "RequestRefusedError", message: "no secret" } },
  ])("accepts $type", (message) => {
    expect(validateToNodeMessage(message)).toEqual(message);
  });

  test.each([
    [{ type: "node.functions", queues: [{ queue: "q", appId: "ap-1", functionName: "A.f", concurrencyLimit: 0 }], limits: { workerMemoryMb: 512, maxOutputBytesOutsideCalls: 1000 } }, /"concurrencyLimit" must be at least 1/],
    [{ type: "node.functions", queues: [] }, /"limits" must be an object/],
    [{ type: "node.env-reply", id: 1, ok: true, value: { appToken: "t", secrets: { KEY: 1 } } }, /"secrets" must map names to strings/],
  ])("refuses %j", (message, why) => {
    expect(() => validateToNodeMessage(message)).toThrow(why);
  });
});
