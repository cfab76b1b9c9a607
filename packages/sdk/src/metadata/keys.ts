/** Every reflect-metadata key stubrun uses, in one place. */
export const METADATA = {
  /** On a class: the FunctionEntry list of its `@stub.function()` / `@stub.webEndpoint()` methods. */
  functions: "stubrun:functions",
  /** On a class: the names of its `@stub.localEntrypoint()` methods. */
  entrypoints: "stubrun:entrypoints",
  /** On a class: its `@stub.enter()` / `@stub.exit()` method names. */
  hooks: "stubrun:hooks",
  /** Written by the compiler: the parameter types of a method. */
  paramTypes: "design:paramtypes",
} as const;
