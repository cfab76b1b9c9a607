import { DEFAULT_FUNCTION_OPTIONS } from "../src/defaults";
import { ProtocolError } from "../src/errors";
import { isSafeRelativePath, parseClientMessage, requestIdOf, validateClientMessage, validateWorkerMessage } from "../src/validate";

const fnManifest = {
  name: "Calc.square",
  className: "Calc",
  methodName: "square",
  kind: "function",
  options: DEFAULT_FUNCTION_OPTIONS,
  params: [{ name: "x", type: "number", required: true }],
};
const manifest = { name: "calc-app", entry: "main.js", projectRoot: "/home/me/project", functions: [fnManifest] };
const appCreate = { type: "app.create", id: 1, manifest, files: [{ path: "main.js", code: "module.exports = {};" }] };

/** parseClientMessage on a JSON-serialised message. */
function parse(message: unknown) {
  return parseClientMessage(JSON.stringify(message));
}

/** The ProtocolError parseClientMessage throws for `text`. */
function refusal(text: string): ProtocolError {
  try {
    parseClientMessage(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return error as ProtocolError;
  }
  throw new Error(`parseClientMessage accepted ${text}`);
}
const refused = (message: unknown) => refusal(JSON.stringify(message)).message;

describe("parseClientMessage accepts each message type", () => {
  test("heartbeat", () => {
    expect(parse({ type: "heartbeat" })).toEqual({ type: "heartbeat" });
  });

  test("app.create, with detach defaulting to false", () => {
    const parsed = parse(appCreate);
    expect(parsed).toEqual({
      type: "app.create",
      id: 1,
      manifest: { ...manifest, functions: [{ ...fnManifest, webMethod: undefined }] },
      files: [{ path: "main.js", code: "module.exports = {};" }],
      detach: false,
    });
    expect(parse({ ...appCreate, detach: true })).toMatchObject({ detach: true });
  });

  test("app.create without an app name, with nested paths and a web endpoint", () => {
    const web = { ...fnManifest, name: "Calc.page", methodName: "page", kind: "webEndpoint" };
    const post = { ...fnManifest, name: "Calc.submit", methodName: "submit", kind: "webEndpoint", webMethod: "POST" };
    const parsed = parse({
      ...appCreate,
      manifest: { ...manifest, name: undefined, entry: "src/main.js", functions: [web, post] },
      files: [{ path: "src/main.js", code: "" }, { path: "./lib/util.js", code: "" }],
    });
    if (parsed.type !== "app.create") throw new Error("wrong type");
    expect(parsed.manifest.name).toBeUndefined();
    expect(parsed.manifest.functions.map((f) => f.webMethod)).toEqual(["GET", "POST"]);
    expect(parsed.files.map((f) => f.path)).toEqual(["src/main.js", "./lib/util.js"]);
  });

  test("call.start, call.cancel and app.stop", () => {
    const args = [1, { $: "date", v: "2024-01-01T00:00:00.000Z" }];
    expect(parse({ type: "call.start", id: 2, appId: "ap-1", function: "Calc.square", args })).toEqual({
      type: "call.start",
      id: 2,
      appId: "ap-1",
      function: "Calc.square",
      args,
    });
    expect(parse({ type: "call.cancel", id: 3, callId: "fc-1" })).toEqual({ type: "call.cancel", id: 3, callId: "fc-1" });
    expect(parse({ type: "app.stop", id: 4, appId: "ap-1" })).toEqual({ type: "app.stop", id: 4, appId: "ap-1" });
  });

  test("unknown extra fields are dropped, not passed on", () => {
    expect(parse({ type: "app.stop", id: 4, appId: "ap-1", extra: { evil: true } })).toEqual({ type: "app.stop", id: 4, appId: "ap-1" });
  });
});

describe("parseClientMessage refuses bad input with a ProtocolError that says what was wrong", () => {
  test("text that is not JSON", () => {
    expect(refusal("{not json").message).toBe("message is not valid JSON");
    expect(refusal("").message).toBe("message is not valid JSON");
  });

  test.each([["null"], ["42"], ['"text"'], ["[1,2]"], ["true"]])("a JSON value that is not an object: %s", (text) => {
    expect(refusal(text).message).toBe("message must be a JSON object");
  });

  test("a missing or non-string type", () => {
    expect(refused({ id: 1 })).toBe('message: "type" must be a string');
    expect(refused({ type: 7 })).toBe('message: "type" must be a string');
  });

  test("an unknown type, or a type inherited from Object.prototype", () => {
    expect(refused({ type: "app.explode", id: 1 })).toBe('unknown message type "app.explode"');
    expect(refused({ type: "toString", id: 1 })).toBe('unknown message type "toString"');
    expect(refused({ type: "__proto__", id: 1 })).toBe('unknown message type "__proto__"');
  });

  test("a request without a usable id", () => {
    for (const id of [undefined, "1", 1.5, null, 2 ** 60, [1]]) {
      expect(refused({ type: "app.stop", id, appId: "ap-1" })).toBe('app.stop: "id" must be an integer');
    }
  });

  test("call.start missing or with wrongly typed fields", () => {
    const good = { type: "call.start", id: 2, appId: "ap-1", function: "Calc.square", args: [] };
    expect(refused({ ...good, appId: undefined })).toBe('call.start: "appId" must be a string');
    expect(refused({ ...good, function: 5 })).toBe('call.start: "function" must be a string');
    expect(refused({ ...good, args: undefined })).toBe('call.start: "args" must be an array');
    expect(refused({ ...good, args: { 0: 1 } })).toBe('call.start: "args" must be an array');
    expect(refused({ type: "call.start", id: 2 })).toMatch(/^call\.start: "/);
  });

  test("call.start with class parameter values: scalars by property name, nothing else", () => {
    const good = { type: "call.start", id: 2, appId: "ap-1", function: "Calc.square", args: [] };
    expect(parse({ ...good, params: { size: "large", n: 2, loud: true } })).toEqual({ ...good, params: { size: "large", n: 2, loud: true } });
    expect(refused({ ...good, params: [] })).toBe('call.start: "params" of Calc.square must be an object');
    expect(refused({ ...good, params: { size: { a: 1 } } })).toBe('call.start: "params" of Calc.square: the value of size must be a string (at most 4096 characters), a finite number or a boolean');
    expect(refused({ ...good, params: { "not-a-name": 1 } })).toBe('call.start: "params" of Calc.square: "not-a-name" is not a property name');
  });

  test("a function's classParams and concurrentInputs are checked", () => {
    const withFn = (f: object) => ({ ...appCreate, manifest: { ...manifest, functions: [{ ...fnManifest, ...f }] } });
    expect(parse(withFn({ classParams: [{ name: "size", type: "choice", choices: ["a", "b"], required: false }] }))).toMatchObject({
      manifest: { functions: [{ classParams: [{ name: "size", type: "choice", choices: ["a", "b"], required: false }] }] },
    });
    expect(refused(withFn({ classParams: {} }))).toBe('function Calc.square: "classParams" must be an array');
    expect(refused(withFn({ classParams: [{ name: "size", type: "weird", required: true }] }))).toMatch(/^function Calc\.square: classParams\[0\]: "type" must be one of/);
    expect(parse(withFn({ options: { ...DEFAULT_FUNCTION_OPTIONS, concurrentInputs: 10 } }))).toMatchObject({ manifest: { functions: [{ options: { concurrentInputs: 10 } }] } });
    expect(refused(withFn({ options: { ...DEFAULT_FUNCTION_OPTIONS, concurrentInputs: 0 } }))).toBe('function Calc.square: option "concurrentInputs" must be a whole number >= 1, got 0');
    expect(refused(withFn({ options: { ...DEFAULT_FUNCTION_OPTIONS, concurrentInputs: 1001 } }))).toBe('function Calc.square: option "concurrentInputs" must be at most 1000, got 1001');
  });

  test("a function's memory and cpu are checked", () => {
    const withOptions = (o: object) => ({ ...appCreate, manifest: { ...manifest, functions: [{ ...fnManifest, options: { ...DEFAULT_FUNCTION_OPTIONS, ...o } }] } });
    expect(parse(withOptions({ memory: 256, cpu: 0.5 }))).toMatchObject({ manifest: { functions: [{ options: { memory: 256, cpu: 0.5 } }] } });
    expect(refused(withOptions({ memory: 32 }))).toBe('function Calc.square: option "memory" must be a whole number >= 64, got 32');
    expect(refused(withOptions({ memory: 100.5 }))).toBe('function Calc.square: option "memory" must be a whole number >= 64, got 100.5');
    expect(refused(withOptions({ cpu: 0 }))).toBe('function Calc.square: option "cpu" must be above 0 and at most 1024, got 0');
    expect(refused(withOptions({ cpu: "2" }))).toBe('function Calc.square: option "cpu" must be a number >= 0, got "2"');
  });

  test("call.cancel and app.stop missing their target", () => {
    expect(refused({ type: "call.cancel", id: 3 })).toBe('call.cancel: "callId" must be a string');
    expect(refused({ type: "app.stop", id: 4, appId: 12 })).toBe('app.stop: "appId" must be a string');
  });

  test("app.create with a bad envelope", () => {
    expect(refused({ ...appCreate, manifest: "x" })).toBe('app.create: "manifest" must be an object');
    expect(refused({ ...appCreate, manifest: [manifest] })).toBe('app.create: "manifest" must be an object');
    expect(refused({ ...appCreate, files: {} })).toBe('app.create: "files" must be an array');
    expect(refused({ ...appCreate, detach: "yes" })).toBe('app.create: "detach" must be a boolean');
  });

  test.each(["../x.js", "a/../../x.js", "/etc/passwd", "a\\..\\x.js", "", "a//b.js", "a/..", "x\u0000.js"])(
    "app.create with a file path that leaves the upload: %j",
    (bad) => {
      const message = refused({ ...appCreate, files: [...appCreate.files, { path: bad, code: "" }] });
      expect(message).toMatch(/^files\[1\]: path ".*" must be relative and stay inside the upload$/s);
    },
  );

  test("app.create with a file that is not an object or has no code", () => {
    expect(refused({ ...appCreate, files: ["main.js"] })).toBe("files[0] must be an object");
    expect(refused({ ...appCreate, files: [{ path: "main.js" }] })).toBe('files[0]: "code" must be a string');
  });

  test("app.create with a bad manifest", () => {
    const bad = (m: object) => refused({ ...appCreate, manifest: { ...manifest, ...m } });
    expect(bad({ entry: "../main.js" })).toBe('manifest: entry "../main.js" must be a relative path inside the upload');
    expect(bad({ entry: undefined })).toBe('manifest: "entry" must be a string');
    expect(bad({ name: "has spaces" })).toMatch(/^manifest: app name "has spaces" may only hold letters/);
    expect(bad({ name: "x".repeat(65) })).toMatch(/^manifest: app name "x{65}" may only hold letters/);
    expect(bad({ name: 5 })).toBe('manifest: "name" must be a string');
    expect(bad({ projectRoot: undefined })).toBe('manifest: "projectRoot" must be a string');
    expect(bad({ functions: "Calc.square" })).toBe('manifest: "functions" must be an array');
  });

  test("app.create with a bad function in the manifest", () => {
    const bad = (f: object) => refused({ ...appCreate, manifest: { ...manifest, functions: [fnManifest, { ...fnManifest, ...f }] } });
    const badOption = (o: object) => bad({ options: { ...DEFAULT_FUNCTION_OPTIONS, ...o } });
    expect(bad({ kind: "cron" })).toBe('function Calc.square: "kind" must be "function" or "webEndpoint"');
    expect(bad({ options: undefined })).toBe('function Calc.square: "options" must be an object');
    expect(bad({ params: {} })).toBe('function Calc.square: "params" must be an array');
    expect(bad({ className: undefined })).toBe('function Calc.square: "className" must be a string');
    expect(bad({ name: undefined })).toBe('manifest.functions[1]: "name" must be a string');
    expect(badOption({ timeout: -1 })).toBe('function Calc.square: option "timeout" must be a number >= 0, got -1');
    expect(badOption({ timeout: 0 })).toBe('function Calc.square: option "timeout" must be above 0 seconds');
    expect(badOption({ concurrencyLimit: "8" })).toBe('function Calc.square: option "concurrencyLimit" must be a whole number >= 1, got "8"');
    expect(badOption({ concurrencyLimit: 0 })).toBe('function Calc.square: option "concurrencyLimit" must be a whole number >= 1, got 0');
    expect(badOption({ concurrencyLimit: 1.5 })).toBe('function Calc.square: option "concurrencyLimit" must be a whole number >= 1, got 1.5');
    expect(badOption({ keepWarm: 0.5 })).toBe('function Calc.square: option "keepWarm" must be a whole number >= 0, got 0.5');
    expect(badOption({ retries: 2 })).toBe('function Calc.square: option "retries" must be an object');
    expect(badOption({ retries: {} })).toBe('function Calc.square: option "retries.maxRetries" must be a whole number >= 0, got undefined');
    expect(badOption({ retries: { ...DEFAULT_FUNCTION_OPTIONS.retries, backoffCoefficient: null } })).toBe(
      'function Calc.square: option "retries.backoffCoefficient" must be a number >= 0, got null',
    );
    expect(refused({ ...appCreate, manifest: { ...manifest, functions: [null] } })).toBe("manifest.functions[0] must be an object");
  });

  test("non-finite options (JSON's 1e999 parses to Infinity) are refused", () => {
    const text = JSON.stringify({ ...appCreate, manifest: { ...manifest, functions: [{ ...fnManifest, options: { ...DEFAULT_FUNCTION_OPTIONS, timeout: 1 } }] } }).replace('"timeout":1', '"timeout":1e999');
    expect(() => parseClientMessage(text)).toThrow('function Calc.square: option "timeout" must be a number >= 0, got Infinity');
  });

  test.each([
    ["0 0 30 2 *", "February has no day 30"],
    ["0 0 31 4 *", "April has no day 31"],
    ["0 0 31 2,4,6 *", "none of the months it allows (February, April, June) has a day 31"],
    ["0 0 30,31 FEB *", "February has no day 30 or 31"],
  ])("a cron that never fires (%s) is refused, naming the function and why", (expression, why) => {
    const schedule = { kind: "cron", expression, timezone: "UTC" };
    expect(refused({ ...appCreate, manifest: { ...manifest, functions: [{ ...fnManifest, params: [], options: { ...DEFAULT_FUNCTION_OPTIONS, schedule } }] } })).toBe(
      `function Calc.square: schedule: cron "${expression}" never fires: ${why}; fix the expression`,
    );
  });

  test.each(["0 0 29 2 *", "0 0 31 * *", "0 0 30 2 MON", "0 0 * 2 FRI", "0 0 31 1-12/2 *"])("a cron that fires, if rarely (%s), is accepted", (expression) => {
    const schedule = { kind: "cron", expression, timezone: "UTC" };
    expect(() => validateClientMessage({ ...appCreate, manifest: { ...manifest, functions: [{ ...fnManifest, params: [], options: { ...DEFAULT_FUNCTION_OPTIONS, schedule } }] } })).not.toThrow();
  });
});

describe("requestIdOf", () => {
  test("reads an integer id from an object, and nothing else", () => {
    expect(requestIdOf({ id: 7 })).toBe(7);
    expect(requestIdOf({ id: 0 })).toBe(0);
    expect(requestIdOf({ id: "7" })).toBeNull();
    expect(requestIdOf({ id: 1.5 })).toBeNull();
    expect(requestIdOf([7])).toBeNull();
    expect(requestIdOf(null)).toBeNull();
    expect(requestIdOf("{\"id\":7}")).toBeNull();
  });
});

describe("isSafeRelativePath", () => {
  test("allows paths inside the upload", () => {
    for (const ok of ["main.js", "src/main.js", "./main.js", "a/b/c.d.js", "..hidden", "a/..b/c.js"]) expect(isSafeRelativePath(ok)).toBe(true);
  });
  test("refuses paths that could leave it", () => {
    for (const bad of ["", "..", "../x", "a/../../x", "/abs", "a\\b", "a//b", "a/", "nul\0"]) expect(isSafeRelativePath(bad)).toBe(false);
  });
});

describe("validateWorkerMessage", () => {
  test("accepts what a worker sends", () => {
    expect(validateWorkerMessage({ type: "ready" })).toEqual({ type: "ready" });
    expect(validateWorkerMessage({ type: "output", callId: "c", stream: "stderr", data: "x" })).toEqual({
      type: "output",
      callId: "c",
      stream: "stderr",
      data: "x",
    });
    expect(validateWorkerMessage({ type: "done", callId: "c", ok: true, value: [1] })).toEqual({ type: "done", callId: "c", ok: true, value: [1] });
    expect(validateWorkerMessage({ type: "done", callId: "c", ok: false, error: { name: "Error", message: "m" } })).toMatchObject({ ok: false });
  });

  test("refuses what a worker must not send", () => {
    expect(() => validateWorkerMessage("ready")).toThrow("worker message must be an object");
    expect(() => validateWorkerMessage({ type: "explode" })).toThrow('unknown worker message type "explode"');
    expect(() => validateWorkerMessage({ type: "output", callId: "c", stream: "stdin", data: "x" })).toThrow(ProtocolError);
    expect(() => validateWorkerMessage({ type: "output", callId: "c", stream: "stdout", data: 5 })).toThrow(ProtocolError);
    expect(() => validateWorkerMessage({ type: "done", callId: "c", ok: false })).toThrow('done: "error" must be an object');
    expect(() => validateWorkerMessage({ type: "done", ok: true, value: 1 })).toThrow('done: "callId" must be a string');
  });
});

describe("manifest secrets", () => {
  const withSecrets = (secrets: unknown) => ({ ...appCreate, manifest: { ...manifest, functions: [{ ...fnManifest, options: { ...DEFAULT_FUNCTION_OPTIONS, secrets } }] } });

  test("names and objects of strings pass as sent", () => {
    const secrets = [{ kind: "name", name: "stripe" }, { kind: "object", values: { KEY: "v" } }];
    const message = parse(withSecrets(secrets));
    expect(message.type === "app.create" && message.manifest.functions[0].options.secrets).toEqual(secrets);
  });

  test("a bad reference is refused; the message names keys, never a value", () => {
    expect(refused(withSecrets("stripe"))).toBe('function Calc.square: option "secrets" must be an array');
    expect(refused(withSecrets([{ kind: "name", name: "bad name" }]))).toMatch(/option "secrets"\[0\]: "name" must be a secret name/);
    expect(refused(withSecrets([{ kind: "env" }]))).toMatch(/"kind" must be "name" or "object"/);
    expect(refused(withSecrets([{ kind: "object", values: { "1X": "hidden-value" } }]))).toMatch(/key "1X" is not an environment variable name/);
    const nonString = refused(withSecrets([{ kind: "object", values: { K: 12345 } }]));
    expect(nonString).toBe('function Calc.square: option "secrets"[0]: the value of K must be a string');
    expect(refused(withSecrets([{ kind: "object", values: { "1X": "hidden-value" } }]))).not.toContain("hidden-value");
  });
});

describe("dict and queue requests", () => {
  test("each op is accepted with its own fields, and nothing else passes", () => {
    expect(parse({ type: "dict", id: 1, name: "counters", create: true, op: "put", key: "n", value: 1, ifVersion: 0, extra: 1 })).toEqual({
      type: "dict",
      id: 1,
      name: "counters",
      create: true,
      op: "put",
      key: "n",
      value: 1,
      ifVersion: 0,
    });
    expect(parse({ type: "dict", id: 2, name: "d", app: "ap-1", op: "keys" })).toEqual({ type: "dict", id: 2, name: "d", app: "ap-1", op: "keys" });
    expect(parse({ type: "queue", id: 3, name: "q", op: "get", max: 5, timeoutMs: 0, partition: "p" })).toEqual({ type: "queue", id: 3, name: "q", op: "get", max: 5, timeoutMs: 0, partition: "p" });
    expect(parse({ type: "queue", id: 4, name: "q", op: "put", values: [null, "x"], partition: "" })).toEqual({ type: "queue", id: 4, name: "q", op: "put", values: [null, "x"] });
  });

  test("bad names, ops and fields are refused, saying which", () => {
    expect(refused({ type: "dict", id: 1, name: "../x", op: "len" })).toContain('dict: name "../x" may only hold letters');
    expect(refused({ type: "dict", id: 1, name: "d", op: "pop" })).toBe('dict: unknown op "pop"; the ops are get, contains, put, delete, len, keys, items, clear');
    expect(refused({ type: "dict", id: 1, name: "d", op: "get" })).toBe('dict get: "key" is missing');
    expect(refused({ type: "dict", id: 1, name: "d", op: "put", key: "k", value: 1, ifVersion: -1 })).toBe('dict put: "ifVersion" must be a whole number >= 0');
    expect(refused({ type: "queue", id: 1, name: "q", op: "put", values: [] })).toBe('queue put: "values" must be a non-empty array');
    expect(refused({ type: "queue", id: 1, name: "q", op: "get", max: 0 })).toBe('queue get: "max" must be 1 to 10000');
    expect(refused({ type: "queue", id: 1, name: "q", op: "get", max: 1, timeoutMs: 1.5 })).toBe('queue get: "timeoutMs" must be a whole number of ms >= 0');
    expect(refused({ type: "queue", id: 1, name: "q", op: "len", partition: "a b" })).toContain('queue len: "partition" may only hold letters');
  });
});

describe("volume requests and mounts", () => {
  const hash = "a".repeat(64);

  test("head and commit are accepted with their fields", () => {
    expect(parse({ type: "volume", id: 1, name: "models", op: "head" })).toEqual({ type: "volume", id: 1, name: "models", op: "head" });
    expect(parse({ type: "volume", id: 2, name: "models", create: true, op: "commit", hash, ifVersion: 3 })).toEqual({ type: "volume", id: 2, name: "models", create: true, op: "commit", hash, ifVersion: 3 });
  });

  test("a bad hash, an op or an ephemeral Volume is refused, saying which", () => {
    expect(refused({ type: "volume", id: 1, name: "v", op: "commit", hash: "abc" })).toBe('volume commit: "hash" must be a blob hash (64 lowercase hex digits)');
    expect(refused({ type: "volume", id: 1, name: "v", op: "drop" })).toBe('volume: unknown op "drop"; the ops are head, commit');
    expect(refused({ type: "volume", id: 1, name: "v", app: "ap-1", op: "head" })).toBe('volume: Volumes are named ones only (no "app")');
  });

  test("a function's mounts need absolute, normalized paths outside the system's folders, each Volume once", () => {
    const withVolumes = (volumes: unknown) => ({ ...appCreate, manifest: { ...manifest, functions: [{ ...fnManifest, options: { ...DEFAULT_FUNCTION_OPTIONS, volumes } }] } });
    expect(() => parse(withVolumes([{ path: "/data", name: "a", create: true }, { path: "/tmp/b", name: "b" }]))).not.toThrow();
    expect(refused(withVolumes([{ path: "data", name: "a" }]))).toContain('the mount path "data" must be absolute, like "/data"');
    expect(refused(withVolumes([{ path: "/data/../etc", name: "a" }]))).toContain("must be normalized");
    expect(refused(withVolumes([{ path: "/usr/local/x", name: "a" }]))).toContain("is in /usr, which the sandbox keeps for the system");
    expect(refused(withVolumes([{ path: "/tmp", name: "a" }]))).toContain("the worker's private /tmp");
    expect(refused(withVolumes([{ path: "/a", name: "v" }, { path: "/b", name: "v" }]))).toContain("a Volume may be mounted once per function");
  });
});
