import { Dict, fn, Queue, Stub } from "stubrun";

const stub = new Stub("dict-queue-example");

// Named: they live on the server until `npx stubrun dict delete` / `queue delete`.
const visits = Dict.fromName<string, number>("example-visits", { createIfMissing: true });
const words = Queue.fromName<string>("example-words", { createIfMissing: true });

class Words {
  /** Counts a word (atomically, however many workers do it at once) and passes it on, shouted. */
  @stub.function()
  async shout(word: string): Promise<void> {
    await visits.update(word, (n = 0) => n + 1);
    await words.put(word.toUpperCase());
  }

  @stub.localEntrypoint()
  async main(): Promise<string> {
    await words.clear();
    for await (const _ of fn(this.shout).map(["tea", "milk", "tea"])) void _;
    const shouted: string[] = [];
    for await (const word of words.iterate({ timeoutMs: 0 })) shouted.push(word);
    return `${shouted.sort().join(" ")}; tea seen ${await visits.get("tea")} times in all`;
  }
}
