import { UsageError } from "@stubrun/protocol";
import { applyClassParams, checkParamsLocally } from "../src/class-params";
import { normalizeFunctionOptions } from "../src/function-options";
import { getFunctions, getParameters } from "../src/metadata/readers";
import { Stub } from "../src/stub";

/** Issue 12 items 6 and 7 in the SDK: `@stub.parameter()` and `concurrentInputs`, checked when applied. */

const stub = new Stub("sdk-class-params");

class Model {
  @stub.parameter() size: string = "small";
  @stub.parameter() temperature!: number;
  @stub.parameter({ default: true }) loud!: boolean;

  @stub.function({ concurrentInputs: 5 })
  predict() {}
}

describe("@stub.parameter()", () => {
  test("records the properties, in order, with a default option", () => {
    expect(getParameters(Model)).toEqual([{ name: "size" }, { name: "temperature" }, { name: "loud", default: true }]);
  });

  test("a new instance gets the given values, then the default options; initializers stay", () => {
    const given = new Model() as unknown as Record<string, unknown>;
    applyClassParams(Model, given, { temperature: 2 });
    expect([given.size, given.temperature, given.loud]).toEqual(["small", 2, true]);
    const all = new Model() as unknown as Record<string, unknown>;
    applyClassParams(Model, all, { size: "large", temperature: 1, loud: false });
    expect([all.size, all.temperature, all.loud]).toEqual(["large", 1, false]);
  });

  test(".with() values are checked against the names and the compiled types", () => {
    expect(checkParamsLocally(Model, "Model.predict", { size: "large", temperature: 3, loud: undefined })).toEqual({ size: "large", temperature: 3 });
    expect(() => checkParamsLocally(Model, "Model.predict", { colour: "red" })).toThrow('Model.predict.with(): class Model has no parameter "colour"; its parameters are: size, temperature, loud');
    expect(() => checkParamsLocally(Model, "Model.predict", { temperature: "3" })).toThrow('Model.predict.with(): parameter temperature of class Model must be a number, got string "3"');
    expect(() => checkParamsLocally(Model, "Model.predict", "large")).toThrow(UsageError);
  });

  test.each([
    [() => class { @stub.parameter() static size = "x"; }, /the property is static/],
    [() => class { @stub.parameter({ default: [1] as never }) n!: number; }, /"default" must be a string, a finite number or a boolean, got object/],
    [() => class { @stub.parameter({ deflt: 1 } as never) n!: number; }, /unknown option "deflt"; the only option is default/],
    [() => class { @(stub.parameter() as never as MethodDecorator) m() {} }, /m is a method or accessor/],
  ])("is refused where it cannot work (%#)", (make, message) => {
    expect(make).toThrow(message);
  });
});

describe("concurrentInputs", () => {
  test("goes into the manifest above 1, and is checked (1 to 1000)", () => {
    expect(getFunctions(Model)[0].options.concurrentInputs).toBe(5);
    const make = (n: unknown) => () => normalizeFunctionOptions({ concurrentInputs: n as number }, "@stub.function() on Io.f");
    expect(make(1)()).not.toHaveProperty("concurrentInputs");
    expect(make(0)).toThrow('"concurrentInputs" must be a whole number >= 1, got 0');
    expect(make(1001)).toThrow('"concurrentInputs" must be at most 1000, got 1001');
    expect(make(2.5)).toThrow('"concurrentInputs" must be a whole number >= 1, got 2.5');
  });
});
