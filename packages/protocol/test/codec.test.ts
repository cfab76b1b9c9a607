import { decodeValue, encodeValue, type Encoded } from "../src/codec";
import { CallCancelledError, UncarriableValueError, WorkerCrashedError } from "../src/errors";

/** Encodes, sends through JSON as the wire does, and decodes. */
function roundTrip(value: unknown, label?: string): unknown {
  const wire = JSON.parse(JSON.stringify(encodeValue(value, label))) as Encoded;
  return decodeValue(wire);
}

/** The error encodeValue throws for `value`. */
function refusal(value: unknown, label?: string): Error {
  try {
    encodeValue(value, label);
  } catch (error) {
    return error as Error;
  }
  throw new Error("encodeValue did not refuse the value");
}

describe("encodeValue / decodeValue round trips", () => {
  test.each<[string, unknown]>([
    ["a string", "héllo ✓"],
    ["an empty string", ""],
    ["true", true],
    ["false", false],
    ["an integer", 42],
    ["a negative float", -1.5],
    ["zero", 0],
    ["null", null],
    ["an empty array", []],
    ["an empty object", {}],
    ["nested JSON", { a: [1, { b: [null, "x", { c: true }] }], d: { e: { f: {} } } }],
  ])("%s comes back equal", (_what, value) => {
    expect(roundTrip(value)).toStrictEqual(value);
  });

  test("numbers JSON cannot hold: NaN, Infinity, -Infinity and -0", () => {
    expect(roundTrip(NaN)).toBeNaN();
    expect(roundTrip(Infinity)).toBe(Infinity);
    expect(roundTrip(-Infinity)).toBe(-Infinity);
    expect(Object.is(roundTrip(-0), -0)).toBe(true);
  });

  test("undefined, alone, in arrays and as an object's value (the key is kept)", () => {
    expect(roundTrip(undefined)).toBeUndefined();
    expect(roundTrip([1, undefined, 3])).toStrictEqual([1, undefined, 3]);
    const back = roundTrip({ a: undefined, b: 1 }) as Record<string, unknown>;
    expect(Object.keys(back)).toEqual(["a", "b"]);
    expect(back.a).toBeUndefined();
  });

  test("Date, including an invalid one", () => {
    const back = roundTrip(new Date("2024-01-31T12:34:56.789Z"));
    expect(back).toBeInstanceOf(Date);
    expect((back as Date).toISOString()).toBe("2024-01-31T12:34:56.789Z");
    const invalid = roundTrip(new Date("not a date"));
    expect(invalid).toBeInstanceOf(Date);
    expect((invalid as Date).getTime()).toBeNaN();
  });

  test("BigInt, beyond 2^53 and negative", () => {
    expect(roundTrip(2n ** 100n)).toBe(2n ** 100n);
    expect(roundTrip(-12345678901234567890n)).toBe(-12345678901234567890n);
    expect(roundTrip(0n)).toBe(0n);
  });

  test("Map keeps its key types and order, and nests", () => {
    const map = new Map<unknown, unknown>([
      ["a", 1],
      [2, new Date(0)],
      [3n, new Map([["inner", new Set([1])]])],
      [undefined, null],
    ]);
    const back = roundTrip(map) as Map<unknown, unknown>;
    expect(back).toBeInstanceOf(Map);
    expect([...back.keys()]).toEqual(["a", 2, 3n, undefined]);
    expect(back.get(2)).toBeInstanceOf(Date);
    const inner = back.get(3n) as Map<string, Set<number>>;
    expect(inner).toBeInstanceOf(Map);
    expect(inner.get("inner")).toBeInstanceOf(Set);
    expect([...(inner.get("inner") as Set<number>)]).toEqual([1]);
  });

  test("Set keeps its items and their types", () => {
    const back = roundTrip(new Set([1, "two", 3n, undefined])) as Set<unknown>;
    expect(back).toBeInstanceOf(Set);
    expect([...back]).toEqual([1, "two", 3n, undefined]);
  });

  test("Uint8Array, a view into a larger buffer, and a Buffer (a Uint8Array)", () => {
    const bytes = new Uint8Array([0, 1, 127, 128, 255]);
    const back = roundTrip(bytes);
    expect(back).toBeInstanceOf(Uint8Array);
    expect([...(back as Uint8Array)]).toEqual([0, 1, 127, 128, 255]);

    const view = new Uint8Array(new Uint8Array([9, 8, 7, 6, 5]).buffer, 1, 3);
    expect([...(roundTrip(view) as Uint8Array)]).toEqual([8, 7, 6]);

    const fromBuffer = roundTrip(Buffer.from("hi"));
    expect(fromBuffer).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(fromBuffer as Uint8Array).toString()).toBe("hi");
  });

  test("Error keeps name, message and stack; built-in and stubrun classes keep instanceof", () => {
    const error = new TypeError("bad type");
    const back = roundTrip(error) as Error;
    expect(back).toBeInstanceOf(TypeError);
    expect(back.name).toBe("TypeError");
    expect(back.message).toBe("bad type");
    expect(back.stack).toBe(error.stack);

    const ours = roundTrip(new CallCancelledError("stopped")) as CallCancelledError;
    expect(ours).toBeInstanceOf(CallCancelledError);
    expect(ours.code).toBe("CANCELLED");
    expect(roundTrip(new WorkerCrashedError("gone"))).toBeInstanceOf(WorkerCrashedError);
  });

  test("a custom Error subclass arrives as an Error with its name and message", () => {
    class QuotaExceeded extends Error {
      constructor(message: string) {
        super(message);
        this.name = "QuotaExceeded";
      }
    }
    const back = roundTrip({ failure: new QuotaExceeded("too many") }) as { failure: Error };
    expect(back.failure).toBeInstanceOf(Error);
    expect(back.failure.name).toBe("QuotaExceeded");
    expect(back.failure.message).toBe("too many");
    expect(String(back.failure.stack)).toContain("QuotaExceeded: too many");
  });

  test("an error's string code survives", () => {
    const error = Object.assign(new Error("no file"), { code: "ENOENT" });
    expect((roundTrip(error) as { code?: string }).code).toBe("ENOENT");
  });

  test("an object with null prototype is a plain object", () => {
    const bare = Object.assign(Object.create(null) as object, { a: 1 });
    expect(roundTrip(bare)).toStrictEqual({ a: 1 });
  });

  test("the same object twice (not a cycle) is carried twice", () => {
    const shared = { x: 1 };
    expect(roundTrip([shared, { again: shared }])).toStrictEqual([{ x: 1 }, { again: { x: 1 } }]);
  });

  test("an object with a `$` key round trips, whatever the key holds", () => {
    for (const value of [
      { $: "date", v: "2024-01-01T00:00:00.000Z" },
      { $: "bigint", v: "12" },
      { $: "obj", v: { $: "undef" } },
      { $: "undef" },
      { $: 1, other: [1, 2] },
      { $: { $: "map", v: [] } },
      { nested: { $: "set", v: [1, 2] } },
    ]) {
      expect(roundTrip(value)).toStrictEqual(value);
    }
    const withSpecials = roundTrip({ $: "error", when: new Date(5), missing: undefined }) as Record<string, unknown>;
    expect(withSpecials.$).toBe("error");
    expect(withSpecials.when).toBeInstanceOf(Date);
    expect("missing" in withSpecials).toBe(true);
  });

  test("a __proto__ key stays data on both sides and never becomes a prototype", () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "b": 2}') as object;
    const encoded = encodeValue(value);
    expect(Object.getPrototypeOf(encoded)).toBe(Object.prototype);
    expect(JSON.stringify(encoded)).toBe('{"__proto__":{"polluted":true},"b":2}');

    const back = roundTrip(value) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.keys(back)).toEqual(["__proto__", "b"]);
    expect(Object.getOwnPropertyDescriptor(back, "__proto__")?.value).toStrictEqual({ polluted: true });
    expect((back as { polluted?: unknown }).polluted).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  test("a __proto__ key inside a `$`-wrapped object and a Map stays data", () => {
    const value = JSON.parse('{"$": "x", "__proto__": {"polluted": true}}') as object;
    const back = roundTrip(value) as Record<string, unknown>;
    expect(Object.keys(back)).toEqual(["$", "__proto__"]);
    expect((back as { polluted?: unknown }).polluted).toBeUndefined();
  });
});

describe("encodeValue refuses what cannot be carried, naming the path", () => {
  test("a function", () => {
    const error = refusal(function handler() {}, "argument 1 of Calc.run");
    expect(error).toBeInstanceOf(UncarriableValueError);
    expect(error.message).toMatch(/^argument 1 of Calc\.run is a function \(handler\)/);
    expect(refusal(() => 1).message).toMatch(/^value is a function \(anonymous\)/);
  });

  test("a symbol, deep inside", () => {
    const error = refusal({ a: [1, { s: Symbol("tag") }] }, "argument 2 of X.y");
    expect(error).toBeInstanceOf(UncarriableValueError);
    expect(error.message).toMatch(/^argument 2 of X\.y \(at \.a\[1\]\.s\) is a symbol \(Symbol\(tag\)\)/);
  });

  test("a class instance, naming its class and suggesting a plain object", () => {
    class Point {
      constructor(readonly x: number) {}
      norm() {
        return Math.abs(this.x);
      }
    }
    const error = refusal({ at: new Point(1) }, "the return value of Geo.where");
    expect(error).toBeInstanceOf(UncarriableValueError);
    expect(error.message).toMatch(/^the return value of Geo\.where \(at \.at\) is an instance of Point; send a plain object instead/);
    expect(error.message).toContain("only JSON data, undefined, Date, BigInt, Map, Set, Uint8Array and Error can cross the wire");
  });

  test("other built-ins that are not carried: RegExp, a Promise, a Float64Array", () => {
    expect(refusal(/x/).message).toContain("instance of RegExp");
    expect(refusal(Promise.resolve(1)).message).toContain("instance of Promise");
    expect(refusal(new Float64Array(2)).message).toContain("instance of Float64Array");
  });

  test("a cycle, naming where it closes", () => {
    const node: Record<string, unknown> = { name: "root" };
    node.foo = node;
    const error = refusal(node, "argument 1 of X.y");
    expect(error).toBeInstanceOf(UncarriableValueError);
    expect(error.message).toMatch(/^argument 1 of X\.y \(at \.foo\) refers back to itself \(a circular reference\)/);

    const list: unknown[] = [1];
    list.push({ back: list });
    expect(refusal(list, "argument 1 of X.y").message).toMatch(/^argument 1 of X\.y \(at \[1\]\.back\) refers back to itself/);
  });

  test("inside a Map (key and value) and a Set", () => {
    expect(refusal(new Map([["k", () => 1]]), "m").message).toMatch(/^m \(at \.get\(0\)\) is a function/);
    expect(refusal(new Map([[Symbol("k"), 1]]), "m").message).toMatch(/^m \(at <key 0>\) is a symbol/);
    expect(refusal(new Set([1, Symbol("s")]), "s").message).toMatch(/^s \(at <item 1>\) is a symbol/);
  });
});

describe("decodeValue on input it did not make", () => {
  test("unknown tags and malformed tagged values decode as plain data, without throwing", () => {
    expect(decodeValue({ $: "nope", v: 1 })).toStrictEqual({ $: "nope", v: 1 });
    expect(decodeValue({ $: "bigint", v: "12x" })).toStrictEqual({ $: "bigint", v: "12x" });
    expect(decodeValue({ $: "bigint", v: { not: "a string" } })).toStrictEqual({ $: "bigint", v: { not: "a string" } });
    expect(decodeValue({ $: "bigint" })).toStrictEqual({ $: "bigint" });
    expect(decodeValue({ $: "map", v: "x" })).toStrictEqual(new Map());
    expect(decodeValue({ $: "set", v: null })).toStrictEqual(new Set());
    expect(decodeValue({ $: "obj", v: 3 })).toStrictEqual({});
    expect((decodeValue({ $: "date", v: 12 }) as Date).getTime()).toBeNaN();
  });

  test("an error with an unknown or hostile name is a plain Error", () => {
    const back = decodeValue({ $: "error", name: "constructor", message: "m" }) as Error;
    expect(back).toBeInstanceOf(Error);
    expect(back.name).toBe("constructor");
    expect(back.message).toBe("m");
    const proto = decodeValue({ $: "error", name: "__proto__", message: "m" }) as Error;
    expect(proto).toBeInstanceOf(Error);
    expect(proto.message).toBe("m");
  });
});
