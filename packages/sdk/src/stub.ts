import { APP_NAME_PATTERN, UsageError, type SecretRef, type VolumeMount } from "@stubrun/protocol";
import { methodTarget } from "./decorators/method-target";
import { parameterDecorator, type ParameterOptions } from "./decorators/parameter.decorator";
import { normalizeFunctionOptions, resources, type FunctionOptions, type WebEndpointOptions } from "./function-options";
import { addEntrypoint, addFunction, addHook, getEntrypoints, getFunctions } from "./metadata/readers";
import { registry } from "./registry";
import { checkImage, type Image } from "./image";
import { secretRefs, type Secret } from "./secret";
import { volumeMounts, type Volume } from "./objects/volume";

/** Options of `new Stub(name, options)`. */
export interface StubOptions {
  /** Secrets every function of the stub gets (a function's own win on a clash). @default [] */
  secrets?: Secret[];
  /** The image every function of the stub runs in, unless it gives its own. @default plain Node with the app's packages */
  image?: Image;
  /** MiB each worker of the stub's functions may use, unless a function gives its own `memory`. @default none */
  memory?: number;
  /** CPU cores each worker of the stub's functions counts for, unless a function gives its own `cpu`. @default none */
  cpu?: number;
  /** Volumes every function of the stub mounts, by path (a function's own volume at the same path wins). @default {} */
  volumes?: Record<string, Volume>;
}

const STUB_OPTIONS = ["secrets", "image", "volumes", "memory", "cpu"];

/**
 * The description of an app: a name and the functions, entrypoints and hooks its decorators
 * attach. `new Stub("name")`, then `@stub.function()` on class methods.
 */
export class Stub {
  /**
   * @param name the app's name: letters, digits, "-", "_" and "."; at most 64 characters.
   *   Needed to deploy, optional to run.
   * @param options secrets every function gets, the image they run in, and their default memory and cpu.
   */
  constructor(
    readonly name?: string,
    options: StubOptions = {},
  ) {
    if (name !== undefined && (typeof name !== "string" || !APP_NAME_PATTERN.test(name))) {
      throw new UsageError(
        `new Stub(${JSON.stringify(name)}): an app name may only hold letters, digits, "-", "_" and ".", at most 64 characters`,
      );
    }
    if (typeof options !== "object" || options === null) throw new UsageError(`new Stub(${JSON.stringify(name)}, options): options must be an object`);
    for (const key of Object.keys(options)) {
      if (!STUB_OPTIONS.includes(key)) throw new UsageError(`new Stub(${JSON.stringify(name)}, options): unknown option "${key}"; the options are ${STUB_OPTIONS.join(", ")}`);
    }
    this.secrets = options.secrets === undefined ? [] : secretRefs(options.secrets, `new Stub(${JSON.stringify(name)})`);
    this.image = options.image === undefined ? undefined : checkImage(options.image, `new Stub(${JSON.stringify(name)})`);
    this.volumes = options.volumes === undefined ? [] : volumeMounts(options.volumes, `new Stub(${JSON.stringify(name)})`);
    this.resources = resources(options, `new Stub(${JSON.stringify(name)})`);
    registry().addStub(this);
  }

  /** The stub's `memory` and `cpu` (internal): its functions' defaults. */
  readonly resources: { memory?: number; cpu?: number };

  /** The stub's image (internal): its functions run in it unless they give their own. */
  readonly image: Image | undefined;

  /** The stub's secrets as the manifest carries them (internal). */
  readonly secrets: SecretRef[];

  /** The stub's Volumes as the manifest carries them (internal): every function mounts them. */
  readonly volumes: VolumeMount[];

  /** Marks a method as a function that runs remotely, in a worker. */
  function(options: FunctionOptions = {}): MethodDecorator {
    return (target, key, descriptor) => {
      const { cls, methodName, method } = methodTarget("@stub.function()", target, key, descriptor);
      const where = `@stub.function() on ${cls.name}.${methodName}`;
      this.claim(cls, methodName, method, where);
      pointToFn(method, methodName);
      const normalized = normalizeFunctionOptions(options, where);
      const generator = isGeneratorFunction(method);
      if (generator && normalized.retries.maxRetries > 0) {
        throw new UsageError(`${where}: a generator function cannot be retried: the values a failed attempt yielded have reached the caller already; drop "retries"`);
      }
      addFunction(cls, { methodName, kind: "function", options: normalized, image: imageOption(options, where), ...(generator ? { generator } : {}) });
    };
  }

  /** Marks a method as a function that is also served over HTTP at `SERVER_URL/web/APP/Class.method`. */
  webEndpoint(options: WebEndpointOptions = {}): MethodDecorator {
    return (target, key, descriptor) => {
      const { cls, methodName, method } = methodTarget("@stub.webEndpoint()", target, key, descriptor);
      const where = `@stub.webEndpoint() on ${cls.name}.${methodName}`;
      const webMethod = options.method ?? "GET";
      if (webMethod !== "GET" && webMethod !== "POST") throw new UsageError(`${where}: "method" must be "GET" or "POST"`);
      if (isGeneratorFunction(method)) throw new UsageError(`${where}: a web endpoint answers once, so it cannot be a generator function; return an array, or a Response`);
      this.claim(cls, methodName, method, where);
      pointToFn(method, methodName);
      addFunction(cls, { methodName, kind: "webEndpoint", webMethod, options: normalizeFunctionOptions(options, where), image: imageOption(options, where) });
    };
  }

  /** Marks a method as a local entrypoint: it runs in the CLI's process and calls functions remotely. */
  localEntrypoint(): MethodDecorator {
    return (target, key, descriptor) => {
      const { cls, methodName, method } = methodTarget("@stub.localEntrypoint()", target, key, descriptor);
      this.claim(cls, methodName, method, `@stub.localEntrypoint() on ${cls.name}.${methodName}`);
      addEntrypoint(cls, methodName);
    };
  }

  /**
   * Marks a property as a parameter of its class: set per instance from the call
   * (`fn(this.f).with({ model: "small" })`, `--model small` on the CLI), before enter hooks run.
   * Each distinct set of values gets workers of its own.
   */
  parameter(options: ParameterOptions = {}): PropertyDecorator {
    return parameterDecorator(options);
  }

  /** Marks a method to run in each worker before its first call. */
  enter(): MethodDecorator {
    return (target, key, descriptor) => {
      const { cls, methodName } = methodTarget("@stub.enter()", target, key, descriptor);
      addHook(cls, "enter", methodName);
    };
  }

  /** Marks a method to run in each worker when it shuts down. */
  exit(): MethodDecorator {
    return (target, key, descriptor) => {
      const { cls, methodName } = methodTarget("@stub.exit()", target, key, descriptor);
      addHook(cls, "exit", methodName);
    };
  }

  private claim(cls: Parameters<typeof getFunctions>[0], methodName: string, method: Function, where: string): void {
    const taken = getFunctions(cls).some((f) => f.methodName === methodName) || getEntrypoints(cls).includes(methodName);
    if (taken) throw new UsageError(`${where}: the method already has a stubrun decorator; use only one of function, webEndpoint and localEntrypoint`);
    registry().addMethod(this, cls, methodName, method);
  }
}

/**
 * `this.square.remote(2)` reads as it would in Modal but is not how stubrun calls: the handle is
 * `fn(this.square)`. The method gets stand-ins that say so, rather than "is not a function".
 */
function pointToFn(method: Function, methodName: string): void {
  for (const name of ["remote", "spawn", "map", "starmap", "local"]) {
    if (name in method) continue;
    Object.defineProperty(method, name, {
      configurable: true,
      value: () => {
        throw new UsageError(`this.${methodName}.${name}(...) is not how a function is called: wrap it first, fn(this.${methodName}).${name}(...) (fn comes from the "stubrun" package)`);
      },
    });
  }
}

/** `*f()` or `async *f()`. */
function isGeneratorFunction(method: Function): boolean {
  const kind = method.constructor?.name;
  return kind === "GeneratorFunction" || kind === "AsyncGeneratorFunction";
}

/** A decorator's `image` option, checked when it is applied. */
function imageOption(options: FunctionOptions, where: string): Image | undefined {
  return typeof options === "object" && options !== null && options.image !== undefined ? checkImage(options.image, where) : undefined;
}
