import { normalizeFunctionOptions } from "../src/function-options";
import { Stub } from "../src/stub";

/** `memory` and `cpu` on a function and on the Stub: checked where they are written. */
describe("memory and cpu options", () => {
  const where = "@stub.function() on A.f";

  test("kept in the manifest's options when given, absent otherwise", () => {
    expect(normalizeFunctionOptions({ memory: 256, cpu: 0.5 }, where)).toMatchObject({ memory: 256, cpu: 0.5 });
    const plain = normalizeFunctionOptions({}, where);
    expect("memory" in plain || "cpu" in plain).toBe(false);
  });

  test("a bad value says what is expected", () => {
    expect(() => normalizeFunctionOptions({ memory: 10 }, where)).toThrow('@stub.function() on A.f: "memory" is in MiB, a whole number >= 64 (e.g. 512), got 10');
    expect(() => normalizeFunctionOptions({ memory: "1G" as never }, where)).toThrow('"memory" is in MiB, a whole number >= 64 (e.g. 512), got "1G"');
    expect(() => normalizeFunctionOptions({ cpu: -1 }, where)).toThrow('"cpu" is a number of cores above 0 (e.g. 0.5, 1, 2), at most 1024, got -1');
  });

  test("the Stub takes them as its functions' defaults", () => {
    expect(new Stub("resources-unit", { memory: 512, cpu: 1 }).resources).toEqual({ memory: 512, cpu: 1 });
    expect(() => new Stub("resources-unit-bad", { cpu: 0 })).toThrow('new Stub("resources-unit-bad"): "cpu" is a number of cores above 0');
  });
});
