/** Every reflect-metadata key stubrun uses, in one place. */
export const METADATA = {
  /** On a class: the FunctionEntry list of its `@stub.function()` / `@stub.webEndpoint()` methods. */
  functions: "stubrun:functions",
  /** On a class: the names of its `@stub.localEntrypoint()` methods. */
  entrypoints: "stubrun:entrypoints",
  /** On a class: its `@stub.enter()` / `@stub.exit()` method names. */
  hooks: "stubrun:hooks",
  /** On a class: the ParameterEntry list of its `@stub.parameter()` properties. */
  parameters: "stubrun:parameters",
  /** Written by the compiler: the type of a decorated property. */
  propertyType: "design:type",
  /** Written by the compiler: the parameter types of a method. */
  paramTypes: "design:paramtypes",
} as const;
