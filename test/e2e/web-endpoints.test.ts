import fs from "node:fs";
import path from "node:path";
import { appList, BinProcess, removeTempDirs, spawnBin, TestServer, tempDir, writeFixture } from "./harness";

/**
 * SPEC §3 Web endpoints, through the real bin and a real server, with `fetch` as the HTTP client:
 * "served at `SERVER_URL/web/APP/Class.method` (APP: the app's name, or its id for an ephemeral
 * app). GET takes arguments from the query string, parsed with the same rules as CLI options;
 * POST takes a JSON object keyed by parameter name, whose values are used as they are when they
 * have the parameter's type (strings are parsed like CLI values). The reply is the return value
 * as JSON (200); a bad or missing argument is 400 naming the parameter; an unknown app or
 * function 404; a thrown error 500 with its message."
 */

const API = `import { Stub, fn } from "stubrun";

const stub = new Stub("web-endpoints-api");

type Mode = "fast" | "slow";

/** Says what each argument arrived as, so the tests see exactly what was parsed. */
function describe(value: unknown): unknown {
  if (value instanceof Date) return { date: value.toISOString() };
  if (value === undefined) return "undefined";
  return { [typeof value]: value };
}

class Api {
  @stub.webEndpoint({ method: "GET" })
  echo(count: number, when: Date, mode: Mode, loud = false, label = "none", maxItems?: number) {
    return [count, when, mode, loud, label, maxItems].map(describe);
  }

  @stub.webEndpoint({ method: "POST" })
  create(name: string, size: number, when: Date, tags: string[], enabled = true, mode: Mode = "slow") {
    return [name, size, when, tags, enabled, mode].map(describe);
  }

  @stub.webEndpoint({ method: "POST" })
  rename(oldName: string, newName: string): string {
    return oldName + " -> " + newName;
  }

  @stub.webEndpoint({ method: "GET" })
  values() {
    return {
      date: new Date("2024-01-02T03:04:05.678Z"),
      map: new Map<string, unknown>([["a", 1], ["b", new Date("2024-02-03T00:00:00Z")]]),
      big: 12345678901234567890n,
      set: new Set([1, 2, 3]),
      nested: [{ at: new Date(0) }],
      text: "héllo",
      nothing: null,
    };
  }

  @stub.webEndpoint({ method: "GET" })
  hello(): string {
    return "hello there";
  }

  @stub.webEndpoint({ method: "GET" })
  nothing(): void {}

  @stub.webEndpoint({ method: "POST" })
  fail(message: string): never {
    throw new TypeError(message);
  }

  @stub.webEndpoint({ method: "GET" })
  async slowly(ms = 200): Promise<string> {
    await new Promise((r) => setTimeout(r, ms));
    return "slept " + ms;
  }

  @stub.function()
  plain(x: number): number {
    return x * 2;
  }
}
`;

const APP = "web-endpoints-api";

interface Reply {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: Headers;
}

describe("web endpoints", () => {
  let server: TestServer;
  let file: string;

  async function call(method: "GET" | "POST" | "PUT" | "DELETE", pathAndQuery: string, body?: unknown): Promise<Reply> {
    const res = await fetch(`${server.url}${pathAndQuery}`, {
      method,
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body), headers: { "content-type": "application/json" } }),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`${method} ${pathAndQuery} answered ${res.status} with a body that is not JSON: ${text}`);
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }
  const get = (fnAndQuery: string, app = APP) => call("GET", `/web/${app}/${fnAndQuery}`);
  const post = (fnName: string, body: unknown, app = APP) => call("POST", `/web/${app}/${fnName}`, body);

  beforeAll(async () => {
    server = await TestServer.start();
    file = writeFixture("web-endpoints-api.ts", API);
    const r = await server.run(["deploy", file]);
    if (r.code !== 0) throw new Error(`deploy failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  });
  afterEach(() => BinProcess.killAll());
  afterAll(async () => {
    await server.stop();
    removeTempDirs();
  });

  test("deploy prints each web endpoint's method and URL", async () => {
    const r = await server.run(["deploy", file]); // unchanged: still prints them
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Api.echo  GET ${server.url}/web/${APP}/Api.echo`);
    expect(r.stdout).toContain(`Api.create  POST ${server.url}/web/${APP}/Api.create`);
    expect(r.stdout).toMatch(/^\s+Api\.plain\s*$/m); // a plain function has no URL
  });

  describe("GET: arguments from the query string, by the CLI's rules", () => {
    test("number, Date, choice; defaults for what is left out", async () => {
      const r = await get("Api.echo?count=42&when=2024-01-31&mode=fast");
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toMatch(/^application\/json/);
      expect(r.body).toEqual([{ number: 42 }, { date: "2024-01-31T00:00:00.000Z" }, { string: "fast" }, { boolean: false }, { string: "none" }, "undefined"]);
    });

    test("a date-time, a negative and fractional number, a flag given bare, a kebab-case name", async () => {
      const r = await get("Api.echo?count=-2.5&when=2024-01-31T09:30:00Z&mode=slow&loud&label=a%20b%26c&max-items=7");
      expect(r.status).toBe(200);
      expect(r.body).toEqual([{ number: -2.5 }, { date: "2024-01-31T09:30:00.000Z" }, { string: "slow" }, { boolean: true }, { string: "a b&c" }, { number: 7 }]);
    });

    test("booleans as true/false/1/0, and the camelCase name too", async () => {
      for (const [text, value] of [["true", true], ["1", true], ["false", false], ["0", false]] as const) {
        const r = await get(`Api.echo?count=1&when=2024-01-31&mode=fast&loud=${text}&maxItems=3`);
        expect(r.status).toBe(200);
        expect(r.body[3]).toEqual({ boolean: value });
        expect(r.body[5]).toEqual({ number: 3 });
      }
    });

    test("a string parameter takes the text as it is, even when it looks like a number", async () => {
      const r = await get("Api.echo?count=1&when=2024-01-31&mode=fast&label=007");
      expect(r.body[4]).toEqual({ string: "007" });
    });

    test.each([
      ["count=abc&when=2024-01-31&mode=fast", /"count".*expects a number.*"abc"/],
      ["count=&when=2024-01-31&mode=fast", /"count".*expects a number/],
      ["count=1&when=yesterday&mode=fast", /"when".*expects an ISO date/],
      ["count=1&when=2024-02-30&mode=fast", /"when".*expects an ISO date/],
      ["count=1&when=2024-01-31&mode=medium", /"mode".*one of "fast", "slow".*"medium"/],
      ["count=1&when=2024-01-31&mode=fast&loud=maybe", /"loud".*true or false/],
      ["count=1&when=2024-01-31&mode=fast&max-items=lots", /"maxItems".*expects a number/],
      ["when=2024-01-31&mode=fast", /missing parameter "count"/],
      ["count=1&mode=fast", /missing parameter "when"/],
      ["count=1&count=2&when=2024-01-31&mode=fast", /"count".*2 times/],
    ])("a bad or missing argument is 400 naming it: ?%s", async (query, message) => {
      const r = await get(`Api.echo?${query}`);
      expect(r.status).toBe(400);
      expect(r.body.error).toMatch(message);
    });

    test("an unknown parameter is 400 naming it and listing the parameters", async () => {
      const r = await get("Api.echo?count=1&when=2024-01-31&mode=fast&colour=red");
      expect(r.status).toBe(400);
      expect(r.body.error).toMatch(/unknown parameter "colour".*count, when, mode, loud, label, maxItems/);
    });

    test("a function without parameters takes an empty query, and refuses any parameter", async () => {
      expect(await get("Api.hello")).toMatchObject({ status: 200, body: "hello there" });
      expect(await get("Api.hello?")).toMatchObject({ status: 200, body: "hello there" });
      const r = await get("Api.hello?x=1");
      expect(r.status).toBe(400);
      expect(r.body.error).toMatch(/unknown parameter "x"/);
    });
  });

  describe("POST: a JSON object keyed by parameter name", () => {
    test("values of the parameter's type are used as they are; strings are parsed like CLI values", async () => {
      const r = await post("Api.create", { name: "widget", size: 3, when: "2024-05-06T07:08:09Z", tags: ["a", "b"], enabled: false, mode: "fast" });
      expect(r.status).toBe(200);
      expect(r.body).toEqual([{ string: "widget" }, { number: 3 }, { date: "2024-05-06T07:08:09.000Z" }, { object: ["a", "b"] }, { boolean: false }, { string: "fast" }]);

      const fromText = await post("Api.create", { name: "42", size: "3.5", when: "2024-05-06", tags: [], enabled: "false" });
      expect(fromText.status).toBe(200);
      expect(fromText.body).toEqual([{ string: "42" }, { number: 3.5 }, { date: "2024-05-06T00:00:00.000Z" }, { object: [] }, { boolean: false }, { string: "slow" }]);
    });

    test("kebab-case keys are accepted too", async () => {
      const r = await post("Api.rename", { "old-name": "a", newName: "b" });
      expect(r).toMatchObject({ status: 200, body: "a -> b" });
    });

    test.each([
      [{ name: "w", size: "big", when: "2024-05-06", tags: [] }, /"size".*expects a number.*"big"/],
      [{ name: "w", size: true, when: "2024-05-06", tags: [] }, /"size".*expects a number.*true/],
      [{ name: 5, size: 1, when: "2024-05-06", tags: [] }, /"name".*expects a string.*5/],
      [{ name: "w", size: 1, when: 1714953600000, tags: [] }, /"when".*expects an ISO date/],
      [{ name: "w", size: 1, when: "not a date", tags: [] }, /"when".*expects an ISO date/],
      [{ name: "w", size: 1, when: "2024-05-06", tags: [], mode: "medium" }, /"mode".*one of "fast", "slow"/],
      [{ name: "w", size: 1, when: "2024-05-06", tags: [], enabled: "perhaps" }, /"enabled".*true or false/],
      [{ size: 1, when: "2024-05-06", tags: [] }, /missing parameter "name"/],
      [{ name: "w", size: 1, when: "2024-05-06" }, /missing parameter "tags"/],
    ])("a bad or missing value is 400 naming the parameter: %j", async (body, message) => {
      const r = await post("Api.create", body);
      expect(r.status).toBe(400);
      expect(r.body.error).toMatch(message);
    });

    test("an unknown key is 400 naming it", async () => {
      const r = await post("Api.create", { name: "w", size: 1, when: "2024-05-06", tags: [], colour: "red" });
      expect(r.status).toBe(400);
      expect(r.body.error).toMatch(/unknown parameter "colour"/);
    });

    test("a body that is not a JSON object is 400", async () => {
      for (const body of ["not json", "[1, 2]", '"text"', "42"]) {
        const r = await post("Api.create", body);
        expect({ body, status: r.status }).toEqual({ body, status: 400 });
        expect(typeof r.body.error).toBe("string");
      }
    });

    test("an empty body is an empty object: 400 for the first missing parameter", async () => {
      const r = await call("POST", `/web/${APP}/Api.create`);
      expect(r.status).toBe(400);
      expect(r.body.error).toMatch(/missing parameter "name"/);
    });
  });

  describe("the reply", () => {
    test("is the return value as JSON: a Date as its ISO text, a Map as an object, a BigInt as its digits, a Set as an array", async () => {
      const r = await get("Api.values");
      expect(r.status).toBe(200);
      expect(r.body).toEqual({
        date: "2024-01-02T03:04:05.678Z",
        map: { a: 1, b: "2024-02-03T00:00:00.000Z" },
        big: "12345678901234567890",
        set: [1, 2, 3],
        nested: [{ at: "1970-01-01T00:00:00.000Z" }],
        text: "héllo",
        nothing: null,
      });
    });

    test("a function that returns nothing answers null", async () => {
      expect(await get("Api.nothing")).toMatchObject({ status: 200, body: null });
    });

    test("a thrown error is 500 with its message", async () => {
      const r = await post("Api.fail", { message: "the widget is broken" });
      expect(r.status).toBe(500);
      expect(r.body.error).toBe("the widget is broken");
    });

    test("calls in parallel each get their own answer", async () => {
      const replies = await Promise.all([100, 300, 200, 50].map((ms) => get(`Api.slowly?ms=${ms}`)));
      expect(replies.map((r) => [r.status, r.body])).toEqual([100, 300, 200, 50].map((ms) => [200, `slept ${ms}`]));
    });
  });

  describe("what is not there", () => {
    test("an unknown app is 404 naming it", async () => {
      const r = await get("Api.echo?count=1", "no-such-app");
      expect(r.status).toBe(404);
      expect(r.body.error).toMatch(/no-such-app/);
    });

    test("an unknown function is 404 naming it", async () => {
      for (const name of ["Api.nope", "Nope.echo", "echo"]) {
        const r = await get(name);
        expect({ name, status: r.status }).toEqual({ name, status: 404 });
        expect(r.body.error).toContain(name);
      }
    });

    test("a plain function (not a web endpoint) is 404", async () => {
      const r = await get("Api.plain?x=1");
      expect(r.status).toBe(404);
      expect(r.body.error).toMatch(/Api\.plain.*not a web endpoint/);
    });

    test("the wrong HTTP method is 405, saying which method it takes", async () => {
      const onGet = await post("Api.echo", { count: 1 });
      expect(onGet.status).toBe(405);
      expect(onGet.headers.get("allow")).toBe("GET");
      expect(onGet.body.error).toMatch(/GET/);
      for (const method of ["GET", "PUT", "DELETE"] as const) {
        const r = await call(method, `/web/${APP}/Api.create`);
        expect({ method, status: r.status }).toEqual({ method, status: 405 });
        expect(r.headers.get("allow")).toBe("POST");
      }
    });
  });

  test("a stopped app's endpoints are 404", async () => {
    const stoppable = writeFixture(
      "web-endpoints-stoppable.ts",
      `import { Stub } from "stubrun";

const stub = new Stub("web-endpoints-stoppable");

class Api {
  @stub.webEndpoint({ method: "GET" })
  ping(): string {
    return "pong";
  }
}
`,
    );
    expect(await server.run(["deploy", stoppable])).toMatchObject({ code: 0 });
    expect(await get("Api.ping", "web-endpoints-stoppable")).toMatchObject({ status: 200, body: "pong" });
    expect(await server.run(["app", "stop", "web-endpoints-stoppable", "--yes"])).toMatchObject({ code: 0 });
    const r = await get("Api.ping", "web-endpoints-stoppable");
    expect(r.status).toBe(404);
    expect(r.body.error).toMatch(/web-endpoints-stoppable/);
    // Its id does not serve it either.
    const id = (await appList(server)).find((a) => a.name === "web-endpoints-stoppable")?.id as string;
    expect((await get("Api.ping", id)).status).toBe(404);
  });

  test("a running ephemeral app's endpoints are served by its app id, until it stops", async () => {
    const dir = tempDir("web-endpoints");
    const ephemeral = writeFixture(
      "web-endpoints-ephemeral.ts",
      `import { Stub } from "stubrun";
import fs from "node:fs";
import path from "node:path";

const stub = new Stub("web-endpoints-ephemeral");

class Eph {
  @stub.webEndpoint({ method: "GET" })
  greet(name: string, times = 1): string {
    return ("hi " + name + "!").repeat(times);
  }

  @stub.localEntrypoint()
  async main(dir: string) {
    console.log("waiting");
    while (!fs.existsSync(path.join(dir, "release"))) await new Promise((r) => setTimeout(r, 50));
    console.log("released");
  }
}
`,
    );
    const client = spawnBin(server, [ephemeral, "--dir", dir]);
    const id = await client.appId();
    expect(id).toMatch(/^ap-/);
    await client.waitFor(/waiting/, "stdout");

    const r = await get("Eph.greet?name=bob&times=2", id);
    expect(r).toMatchObject({ status: 200, body: "hi bob!hi bob!" });
    const bad = await get("Eph.greet?times=2", id);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/missing parameter "name"/);

    fs.writeFileSync(path.join(dir, "release"), "");
    const done = await client.exited;
    expect(done.code).toBe(0);
    expect(done.stdout).toBe("waiting\nreleased\n");
    const after = await get("Eph.greet?name=bob", id);
    expect(after.status).toBe(404);
  });

  describe("stubrun FILE: web endpoints are never inferred, but can be named", () => {
    test("a file with only web endpoints is a usage error that lists them", async () => {
      const only = writeFixture(
        "web-endpoints-only.ts",
        `import { Stub } from "stubrun";

const stub = new Stub("web-endpoints-only");

class Only {
  @stub.webEndpoint({ method: "GET" })
  ping(): string {
    return "pong";
  }
}
`,
      );
      const r = await server.run([only]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/only web endpoints/);
      expect(r.stderr).toContain(`${only}::Only.ping`);
      expect(r.stdout).toBe("");

      const named = await server.run([`${only}::Only.ping`]);
      expect(named.stderr).not.toMatch(/Error/);
      expect(named.code).toBe(0);
      expect(named.stdout).toBe("pong\n");
    });

    test("a file with one plain function and web endpoints runs the plain function", async () => {
      const r = await server.run([file, "--x", "21"]);
      expect(r.stderr).not.toMatch(/Error/);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe("42\n");
    });

    test("a named web endpoint runs remotely with CLI options", async () => {
      const r = await server.run([`${file}::Api.echo`, "--count", "5", "--when", "2024-01-31", "--mode", "slow", "--max-items", "2"]);
      expect(r.stderr).not.toMatch(/Error/);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual([{ number: 5 }, { date: "2024-01-31T00:00:00.000Z" }, { string: "slow" }, { boolean: false }, { string: "none" }, { number: 2 }]);
    });
  });

  test("running the deployed file ephemerally leaves the deployed app and its endpoints alone", async () => {
    const apps = (await appList(server)).filter((a) => a.name === APP);
    expect(apps.filter((a) => a.state === "deployed")).toHaveLength(1);
    expect(apps.length).toBeGreaterThan(1); // the `stubrun FILE` runs above made their own, now stopped, apps
    expect(await get("Api.hello")).toMatchObject({ status: 200, body: "hello there" });
  });
});
