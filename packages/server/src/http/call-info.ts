import type { CallInfo, WireError } from "@stubrun/protocol";
import type { StoredCall } from "../state/calls.repository";

const HOUR_MS = 3_600_000;

/**
 * A stored call as `GET /api/calls/ID` and the call's page show it: its state and times, its
 * arguments' preview, and its result or error while they are kept (`resultRetentionHours`
 * after it ended; a result over `limits.maxKeptResultBytes` is not kept at all).
 */
export function callInfo(call: StoredCall, resultRetentionHours: number, now = Date.now()): CallInfo {
  const info: CallInfo = {
    id: call.id,
    appId: call.appId,
    functionName: call.functionName,
    state: call.state,
    attempts: Math.max(call.attempts, 1),
    createdAt: new Date(call.createdAt).toISOString(),
    endedAt: call.endedAt === null ? null : new Date(call.endedAt).toISOString(),
    durationMs: call.endedAt === null ? null : call.endedAt - call.createdAt,
    args: call.args,
  };
  if (call.state === "running") return info;
  const expired = call.endedAt !== null && call.endedAt < now - resultRetentionHours * HOUR_MS;
  const kept = call.state === "succeeded" ? call.result : call.errorJson;
  if (expired || kept === null) {
    const what = call.state === "succeeded" ? "result" : "error";
    info.unavailable = expired
      ? `the ${what} of call ${call.id} is no longer kept: results are kept for ${resultRetentionHours} hour(s) after a call ends (limits.callResultRetentionHours)`
      : call.state === "succeeded"
        ? `the result of call ${call.id} was not kept: it was larger than limits.maxKeptResultBytes (raise it in the server's config.json to keep larger results)`
        : `the error of call ${call.id} was not kept`;
    if (call.state !== "succeeded" && call.error !== null) info.error = { name: call.error.split(":")[0] || "Error", message: call.error.slice(call.error.indexOf(":") + 1).trim() };
    return info;
  }
  if (call.state === "succeeded") info.result = JSON.parse(kept) as unknown;
  else info.error = JSON.parse(kept) as WireError;
  return info;
}
