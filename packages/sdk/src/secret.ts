import { SECRET_KEY_PATTERN, SECRET_NAME_PATTERN, UsageError, type SecretRef } from "@stubrun/protocol";

/**
 * A secret for a stub or a function: its keys are environment variables in the worker only.
 * `Secret.fromName("name")` refers to one created with `npx stubrun secret create`;
 * `Secret.fromObject({ K: "v" })` gives the values in the code (they travel with the upload).
 */
export class Secret {
  private constructor(private readonly ref: SecretRef) {}

  /** A secret stored on the server, created with `npx stubrun secret create NAME KEY=VALUE`. */
  static fromName(name: string): Secret {
    if (typeof name !== "string" || !SECRET_NAME_PATTERN.test(name)) {
      throw new UsageError(`Secret.fromName(${JSON.stringify(name)}): a secret name may only hold letters, digits, "-", "_" and ".", at most 64 characters`);
    }
    return new Secret({ kind: "name", name });
  }

  /** Values given in the code: `{ KEY: "value" }`, string values, keys that are environment variable names. */
  static fromObject(values: Record<string, string>): Secret {
    if (typeof values !== "object" || values === null || Array.isArray(values)) throw new UsageError("Secret.fromObject(values): values must be an object of strings");
    const copy: Record<string, string> = {};
    for (const [key, value] of Object.entries(values)) {
      if (!SECRET_KEY_PATTERN.test(key)) throw new UsageError(`Secret.fromObject(): key ${JSON.stringify(key)} is not an environment variable name (letters, digits and "_", not starting with a digit)`);
      // The message names the key, never the value.
      if (typeof value !== "string") throw new UsageError(`Secret.fromObject(): the value of ${key} must be a string`);
      copy[key] = value;
    }
    return new Secret({ kind: "object", values: copy });
  }

  /** The manifest's reference (internal). */
  toManifest(): SecretRef {
    return this.ref.kind === "name" ? { ...this.ref } : { kind: "object", values: { ...this.ref.values } };
  }

  /** Never shows values: `Secret(name)` or `Secret(object: KEY, ...)`. */
  toString(): string {
    return this.ref.kind === "name" ? `Secret(${this.ref.name})` : `Secret(object: ${Object.keys(this.ref.values).join(", ")})`;
  }

  toJSON(): string {
    return this.toString();
  }
}

/** Checks a `secrets` option: an array of Secret. */
export function secretRefs(value: unknown, where: string): SecretRef[] {
  if (!Array.isArray(value) || !value.every((s) => s instanceof Secret)) {
    throw new UsageError(`${where}: "secrets" must be an array of Secret.fromName("name") or Secret.fromObject({ KEY: "value" })`);
  }
  return value.map((s: Secret) => s.toManifest());
}
