/**
 * The WebSocket baseline: a round trip between two processes over the same `ws` library the
 * server uses (a child echoes what this process sends), with a message the size of a call.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import WebSocket from "ws";
import { msSince, quantile } from "./stats";

const ROOT = path.resolve(__dirname, "../..");
const ECHO = `
const { WebSocketServer } = require("ws");
const server = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
server.on("listening", () => console.log(server.address().port));
server.on("connection", (socket) => socket.on("message", (data) => socket.send(String(data))));
`;

/** The p50, in ms, of `trips` round trips in a row. */
export async function wsEchoP50(trips: number): Promise<number> {
  const child = spawn(process.execPath, ["-e", ECHO], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.setEncoding("utf8").once("data", (line: string) => resolve(Number(line.trim())));
      child.once("exit", (code) => reject(new Error(`the WebSocket echo process exited with ${code}`)));
    });
    const socket = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
    const times: number[] = [];
    for (let i = 0; i < trips + 50; i++) {
      const start = process.hrtime.bigint();
      const message = JSON.stringify({ type: "call.start", id: i, appId: "ap-0123456789", function: "Bench.echo", args: [i] });
      await new Promise<void>((resolve) => {
        socket.once("message", () => resolve());
        socket.send(message);
      });
      if (i >= 50) times.push(msSince(start)); // the first ones warm the JIT up
    }
    socket.close();
    return quantile(times, 0.5);
  } finally {
    child.kill();
  }
}
