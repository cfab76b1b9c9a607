import { fn, Stub, Volume } from "stubrun";
import fs from "node:fs";

const stub = new Stub("volume-example");

// Named: its files stay on the server until `npx stubrun volume delete example-models`.
const models = Volume.fromName("example-models", { createIfMissing: true });

class Models {
  /** "Trains" a model (counts the letters of a text) and commits it, for every worker that loads the Volume from now on. */
  @stub.function({ volumes: { "/models": models } })
  async train(name: string, text: string): Promise<number> {
    const counts: Record<string, number> = {};
    for (const letter of text.replace(/\s/g, "")) counts[letter] = (counts[letter] ?? 0) + 1;
    fs.writeFileSync(`/models/${name}.json`, JSON.stringify(counts));
    await models.commit();
    return Object.keys(counts).length;
  }

  /** Reads a model another worker committed: reload() first, in case this worker started before the commit. */
  @stub.function({ volumes: { "/models": models } })
  async predict(name: string, letter: string): Promise<number> {
    await models.reload();
    const counts = JSON.parse(fs.readFileSync(`/models/${name}.json`, "utf8")) as Record<string, number>;
    return counts[letter] ?? 0;
  }

  @stub.localEntrypoint()
  async main(): Promise<string> {
    const letters = await fn(this.train).remote("tea", "tea for two and two for tea");
    const ts = await fn(this.predict).remote("tea", "t");
    return `model tea: ${letters} letters, "t" seen ${ts} times`;
  }
}
