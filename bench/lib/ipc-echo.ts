/**
 * The IPC baseline: a round trip between a parent and a child over Node's IPC channel, with the
 * serialization the server uses with its workers (json), and a message the size of a call. With
 * the WebSocket echo it is the floor of a warm call's two hops (client-server, server-worker).
 */
import { spawn } from "node:child_process";
import { msSince, quantile } from "./stats";

const ECHO = `process.on("message", (message) => process.send(message));`;

/** The p50, in ms, of `trips` round trips in a row. */
export async function ipcEchoP50(trips: number): Promise<number> {
  const child = spawn(process.execPath, ["-e", ECHO], { serialization: "json", stdio: ["ignore", "inherit", "inherit", "ipc"] });
  try {
    await new Promise<void>((resolve, reject) => child.once("spawn", resolve).once("error", reject));
    const times: number[] = [];
    for (let i = 0; i < trips + 50; i++) {
      const start = process.hrtime.bigint();
      await new Promise<void>((resolve) => {
        child.once("message", () => resolve());
        child.send({ type: "run", callId: `ca-${i.toString(36).padStart(10, "0")}`, args: [i] });
      });
      if (i >= 50) times.push(msSince(start)); // the first ones warm the JIT up
    }
    return quantile(times, 0.5);
  } finally {
    child.kill();
  }
}
