import { ProtocolError } from "./errors";
import { envField } from "./env-field";
import { int, isObject, need, str, type Obj } from "./field-checks";
import type { Encoded } from "./codec";
import type { FromNodeMessage, NodeCallOutcome, NodeQueue, ToNodeMessage } from "./node-messages";
import { validateFunction, validateWireError } from "./validate";

/** Validation of the node socket's messages, both ways: a well-typed message, or a ProtocolError saying what was wrong. */

function stream(o: Obj, where: string): "stdout" | "stderr" {
  need(o.stream === "stdout" || o.stream === "stderr", `${where}: "stream" must be stdout or stderr`);
  return o.stream as "stdout" | "stderr";
}

function outcome(o: unknown, where: string): NodeCallOutcome {
  need(isObject(o), `${where} must be an object`);
  const state = str(o, "state", where);
  if (state === "succeeded") {
    need(o.value !== undefined, `${where}: "value" is missing`); // passed through to the caller, who decodes it
    return { state, value: o.value as Encoded };
  }
  need(state === "failed" || state === "cancelled" || state === "timed_out", `${where}: "state" must be succeeded, failed, cancelled or timed_out`);
  return { state: state as "failed" | "cancelled" | "timed_out", error: validateWireError(o.error, `${where}: "error"`) };
}

/** Parses a message a node sent to the server. */
export function validateNodeMessage(m: unknown): FromNodeMessage {
  need(isObject(m), "node message must be a JSON object");
  const type = str(m, "type", "node message");
  switch (type) {
    case "node.hello": {
      const slots = int(m, "slots", type);
      need(slots >= 1, `${type}: "slots" must be at least 1`);
      return { type, nodeId: str(m, "nodeId", type), slots };
    }
    case "node.started":
      return { type, callId: str(m, "callId", type), attempt: int(m, "attempt", type) };
    case "node.output":
      return { type, callId: str(m, "callId", type), stream: stream(m, type), data: str(m, "data", type) };
    case "node.yield":
      // Passed through to the caller, like a return value.
      if (m.value === undefined) throw new ProtocolError('node.yield: "value" is missing');
      return { type, callId: str(m, "callId", type), value: m.value as Encoded };
    case "node.worker-output":
      return { type, appId: str(m, "appId", type), functionName: str(m, "functionName", type), stream: stream(m, type), data: str(m, "data", type) };
    case "node.done":
      return { type, callId: str(m, "callId", type), outcome: outcome(m.outcome, `${type}: "outcome"`) };
    case "node.env": {
      const id = int(m, "id", type);
      if (m.callId !== undefined) return { type, id, callId: str(m, "callId", type) };
      return { type, id, appId: str(m, "appId", type), functionName: str(m, "functionName", type) };
    }
    case "node.tasks": {
      const count = int(m, "count", type);
      need(count >= 0, `${type}: "count" must not be negative`);
      return { type, appId: str(m, "appId", type), count };
    }
    case "node.app-stopped":
      return { type, appId: str(m, "appId", type) };
    case "node.note":
      return { type, appId: str(m, "appId", type), line: str(m, "line", type) };
    case "node.workers": {
      const idle = int(m, "idle", type);
      need(idle >= 0, `${type}: "idle" must not be negative`);
      need(typeof m.ready === "boolean", `${type}: "ready" must be true or false`);
      return { type, appId: str(m, "appId", type), codeHash: str(m, "codeHash", type), functionName: str(m, "functionName", type), idle, ready: m.ready as boolean };
    }
    default:
      throw new ProtocolError(`unknown node message type "${type}"`);
  }
}

/** Parses a message the server sent to a node. */
export function validateToNodeMessage(m: unknown): ToNodeMessage {
  need(isObject(m), "server message must be a JSON object");
  const type = str(m, "type", "server message");
  switch (type) {
    case "node.functions":
      need(Array.isArray(m.queues), `${type}: "queues" must be an array`);
      need(isObject(m.limits), `${type}: "limits" must be an object`);
      return {
        type,
        queues: (m.queues as unknown[]).map((q, i) => nodeQueue(q, `${type}: queues[${i}]`)),
        limits: { workerMemoryMb: int(m.limits as Obj, "workerMemoryMb", type), maxOutputBytesOutsideCalls: int(m.limits as Obj, "maxOutputBytesOutsideCalls", type) },
      };
    case "node.cancel":
      return { type, callId: str(m, "callId", type) };
    case "node.stop-app":
      return { type, appId: str(m, "appId", type) };
    case "node.keep-warm":
      need(isObject(m.fn), `${type}: "fn" must be an object`);
      return { type, appId: str(m, "appId", type), fn: validateFunction(m.fn, 0), codeHash: str(m, "codeHash", type), entry: str(m, "entry", type) };
    case "node.retire":
      return { type, appId: str(m, "appId", type), codeHash: str(m, "codeHash", type) };
    case "node.env-reply": {
      const id = int(m, "id", type);
      if (m.ok === true) {
        need(isObject(m.value), `${type}: "value" must be an object`);
        const value = m.value as Obj;
        need(isObject(value.secrets) && Object.values(value.secrets).every((v) => typeof v === "string"), `${type}: "secrets" must map names to strings`);
        return { type, id, ok: true, value: { appToken: str(value, "appToken", type), secrets: value.secrets as Record<string, string>, ...envField(value, type) } };
      }
      return { type, id, ok: false, error: validateWireError(m.error, `${type}: "error"`) };
    }
    default:
      throw new ProtocolError(`unknown server message type "${type}"`);
  }
}

function nodeQueue(q: unknown, where: string): NodeQueue {
  need(isObject(q), `${where} must be an object`);
  const concurrencyLimit = int(q, "concurrencyLimit", where);
  need(concurrencyLimit >= 1, `${where}: "concurrencyLimit" must be at least 1`);
  const inputs = q.concurrentInputs === undefined ? 1 : int(q, "concurrentInputs", where);
  need(inputs >= 1, `${where}: "concurrentInputs" must be at least 1`);
  return { queue: str(q, "queue", where), appId: str(q, "appId", where), functionName: str(q, "functionName", where), concurrencyLimit, ...(inputs > 1 ? { concurrentInputs: inputs } : {}) };
}
