import { canonicalClassParams, encodeValue, UsageError, type CallResult, type ClassParamValues, type Encoded } from "@stubrun/protocol";
import { applyClassParams, checkParamsLocally } from "./class-params";
import { beginCall } from "./calls-in-flight";
import { FunctionCall, outcomeOfResult, writeOutput } from "./function-call";
import { isThenable, streamCalls } from "./streaming-map";
import { getFunctions, getHooks } from "./metadata/readers";
import { registry, type AnyClass } from "./registry";
import { currentSession, type AppSession } from "./session";

/** Options of `.map()` and `.starmap()`. */
export interface MapOptions {
  /** Yield results in input order; `false` yields each as soon as it is ready. @default true */
  order?: boolean;
  /** Yield a failed call's Error instead of throwing it. @default false */
  returnErrors?: boolean;
}

/** A typed handle on a remote function: how it is called remotely, locally, spawned or mapped. */
export interface FunctionHandle<A extends unknown[], R> {
  /** The function's name, `Class.method`. */
  readonly name: string;
  /** Runs it remotely, in a worker, and waits for its result. */
  remote(...args: A): Promise<R>;
  /** Runs it in this process. */
  local(...args: A): Promise<R>;
  /** Starts it remotely and returns at once. */
  spawn(...args: A): Promise<FunctionCall<R>>;
  /** One remote call per input, in parallel; yields the results. */
  map(inputs: Iterable<A[0]> | AsyncIterable<A[0]>, options?: MapOptions): AsyncIterable<R>;
  /** One remote call per argument list, in parallel; yields the results. */
  starmap(argLists: Iterable<A> | AsyncIterable<A>, options?: MapOptions): AsyncIterable<R>;
  /** Runs a generator function (`async *f()`) remotely and yields its values as it produces them (Modal's `remote_gen`). */
  remoteGen(...args: A): AsyncIterable<Yielded<R>>;
  /**
   * The same function on an instance whose `@stub.parameter()` properties have these values
   * (Modal's `Cls(model="small")`): `fn(this.f).with({ model: "small" }).remote(x)`. Values add to
   * those given before; each distinct set of values is served by workers of its own.
   */
  with(values: ClassParamValues): FunctionHandle<A, R>;
}

/** What a generator function yields. */
export type Yielded<R> = R extends AsyncGenerator<infer Y> ? Y : R extends Generator<infer Y> ? Y : R extends AsyncIterable<infer Y> ? Y : never;

/**
 * The handle of a decorated method: `fn(this.square)` or `fn(Hello.prototype.square)`.
 */
export function fn<A extends unknown[], R>(method: (...args: A) => R): FunctionHandle<A, Awaited<R>> {
  const ref = typeof method === "function" ? registry().refOf(method) : undefined;
  if (!ref || !getFunctions(ref.cls).some((f) => f.methodName === ref.methodName)) {
    const what = typeof method === "function" ? `${method.name || "an anonymous function"}` : String(method);
    throw new UsageError(`fn(${what}): pass a method decorated with @stub.function() or @stub.webEndpoint(), like fn(this.square)`);
  }
  const { cls, methodName } = ref;
  const name = `${cls.name}.${methodName}`;
  const handle = new RemoteFunction<A, Awaited<R>>(name, {
    session: currentSession,
    local: async (args, params) => {
      const instance = await localInstance(cls, params);
      return (instance[methodName] as (...a: unknown[]) => unknown)(...args);
    },
    checkParams: (values) => checkParamsLocally(cls, name, values),
    wrap: (h) => sayHowToCall(h, methodName),
  }, ref.params);
  return sayHowToCall(handle, methodName);
}

/**
 * The handle, which may also be called by mistake (`fn(this.f)(3)`): that says to pick how the
 * call runs, rather than "is not a function". Everything else reaches the handle itself.
 */
function sayHowToCall<H extends object>(handle: H, methodName: string): H {
  const mistake = () => {
    throw new UsageError(`fn(this.${methodName})(...) does not call it: say where it runs, fn(this.${methodName}).remote(...) (or .local(...), .spawn(...), .map(...))`);
  };
  return new Proxy(mistake, {
    apply: () => mistake(),
    get: (_target, key) => Reflect.get(handle, key, handle),
    has: (_target, key) => Reflect.has(handle, key),
    getPrototypeOf: () => Object.getPrototypeOf(handle),
  }) as unknown as H;
}

/** Where a handle's calls go: the app they run in, and (for decorated methods) the code for `.local()`. */
export interface CallTarget {
  session(): Promise<AppSession>;
  local?(args: unknown[], params: ClassParamValues | undefined): Promise<unknown>;
  /** Checks `.with()` values as far as this process can; returns them as they will be sent. */
  checkParams(values: unknown): ClassParamValues;
  /** Dresses a handle `.with()` made as the first one was. @default as it is */
  wrap?<H extends object>(handle: H): H;
}

/** The handle behind `fn()` and `lookup()`. */
export class RemoteFunction<A extends unknown[], R> implements FunctionHandle<A, R> {
  constructor(
    readonly name: string,
    private readonly target: CallTarget,
    /** The `.with()` values its calls carry. */
    private readonly params?: ClassParamValues,
  ) {}

  with(values: ClassParamValues): FunctionHandle<A, R> {
    const merged = { ...this.params, ...this.target.checkParams(values) };
    const handle = new RemoteFunction<A, R>(this.name, this.target, merged);
    return this.target.wrap ? this.target.wrap(handle) : handle;
  }

  /** The app calls go to, with the `.with()` values. */
  private async session(): Promise<AppSession> {
    const session = await this.target.session();
    return this.params && Object.keys(this.params).length > 0 ? { ...session, params: this.params } : session;
  }

  /** `spawn(...).get()` without the FunctionCall: a warm round trip is a handful of promises shorter. */
  async remote(...args: A): Promise<R> {
    const end = beginCall(this.name);
    try {
      const encoded = this.encodeArgs(args);
      const { connection, appId, version, params } = await this.session();
      return await new Promise<R>((resolve, reject) => {
        const onResult = (result: CallResult) => {
          const outcome = outcomeOfResult<R>(result);
          if (outcome.ok) resolve(outcome.value);
          else reject(outcome.error);
        };
        connection.sendCall(appId, this.name, encoded, { onOutput: writeOutput, onResult }, { started: () => {}, refused: reject }, version, params);
      });
    } finally {
      end();
    }
  }

  async *remoteGen(...args: A): AsyncGenerator<Yielded<R>> {
    const end = beginCall(this.name);
    const values: unknown[] = [];
    let wake: (() => void) | undefined;
    const arrived = () => {
      wake?.();
      wake = undefined;
    };
    let finished = false;
    let failure: unknown;
    try {
      const session = await this.session();
      const call = await FunctionCall.start<unknown>(session, this.name, this.encodeArgs(args), (value) => {
        values.push(value);
        arrived();
      });
      call.get().then(
        () => ((finished = true), arrived()),
        (error) => ((failure = error), (finished = true), arrived()),
      );
      try {
        for (;;) {
          if (values.length > 0) {
            yield values.shift() as Yielded<R>;
            continue;
          }
          if (finished) break;
          await new Promise<void>((resolve) => (wake = resolve));
        }
        if (failure !== undefined) throw failure;
      } finally {
        // The caller stopped early (break, a throw): the call is not left running.
        if (!finished) await call.cancel().catch(() => {});
      }
    } finally {
      end();
    }
  }

  async local(...args: A): Promise<R> {
    if (!this.target.local) throw new UsageError(`${this.name} was looked up: its code is not in this process, so call it with .remote()`);
    return (await this.target.local(args, this.params)) as R;
  }

  async spawn(...args: A): Promise<FunctionCall<R>> {
    const end = beginCall(this.name);
    try {
      const encoded = this.encodeArgs(args);
      const session = await this.session();
      const call = await FunctionCall.start<R>(session, this.name, encoded);
      call.get().then(end, end);
      return call;
    } catch (error) {
      end();
      throw error;
    }
  }

  map(inputs: Iterable<A[0]> | AsyncIterable<A[0]>, options?: MapOptions): AsyncIterable<R> {
    if (isIterable(inputs)) {
      return this.starmap(
        (function* () {
          // An input that is a promise is awaited, as `for await` would (only that one).
          for (const input of inputs) yield (isThenable(input) ? Promise.resolve(input).then((value) => [value]) : [input]) as unknown as A;
        })(),
        options,
      );
    }
    return this.starmap(
      (async function* () {
        for await (const input of inputs) yield [input] as unknown as A;
      })(),
      options,
    );
  }

  starmap(argLists: Iterable<A> | AsyncIterable<A>, options: MapOptions = {}): AsyncIterable<R> {
    const { order = true, returnErrors = false } = options;
    const inputs = isIterable(argLists) ? this.encodedInputs(argLists) : this.encodedAsyncInputs(argLists);
    // streamCalls' own generator, not one around it: each result costs a generator step less.
    return streamCalls<R>(() => this.session(), this.name, inputs, { order, returnErrors });
  }

  /**
   * Each input's arguments, checked and encoded as it is read. A plain iterable is read without
   * awaiting; an input that is a promise makes that step a promise (streamCalls awaits it).
   */
  private encodedInputs(argLists: Iterable<A>): Iterator<Encoded[]> {
    const source = argLists[Symbol.iterator]();
    let n = 0;
    return {
      next: (): IteratorResult<Encoded[]> => {
        const step = source.next();
        if (step.done) return { done: true, value: undefined };
        const at = ++n;
        if (!isThenable(step.value)) return { done: false, value: this.encodeInput(step.value, at) };
        return Promise.resolve(step.value).then((args) => ({ done: false, value: this.encodeInput(args, at) })) as unknown as IteratorResult<Encoded[]>;
      },
    };
  }

  private async *encodedAsyncInputs(argLists: AsyncIterable<A>): AsyncGenerator<Encoded[]> {
    let n = 0;
    for await (const args of argLists) yield this.encodeInput(args, ++n);
  }

  private encodeInput(args: A, n: number): Encoded[] {
    if (!Array.isArray(args)) throw new UsageError(`${this.name}.starmap(): each input must be an array of arguments (input ${n} is not)`);
    return this.encodeArgs(args as A, ` of input ${n}`);
  }

  private encodeArgs(args: A, suffix = ""): Encoded[] {
    return args.map((arg, i) => encodeValue(arg, `argument ${i + 1}${suffix} of ${this.name}`));
  }
}

/** Whether inputs can be read without awaiting (an array, a Set, a plain generator). */
function isIterable<T>(inputs: Iterable<T> | AsyncIterable<T>): inputs is Iterable<T> {
  return typeof (inputs as Iterable<T>)[Symbol.iterator] === "function";
}

const localInstances = new WeakMap<AnyClass, Map<string, Promise<Record<string, unknown>>>>();

/**
 * `.local()` uses one instance per class and set of parameter values, made like a worker's:
 * constructed, its parameters set, then its enter hooks run.
 */
function localInstance(cls: AnyClass, params: ClassParamValues | undefined): Promise<Record<string, unknown>> {
  let byParams = localInstances.get(cls);
  if (!byParams) localInstances.set(cls, (byParams = new Map()));
  const key = canonicalClassParams(params);
  let instance = byParams.get(key);
  if (!instance) {
    instance = (async () => {
      const created = new (cls as unknown as new () => Record<string, unknown>)();
      applyClassParams(cls, created, params);
      for (const hook of getHooks(cls).enter) await (created[hook] as () => unknown).call(created);
      return created;
    })();
    byParams.set(key, instance);
  }
  return instance;
}
