import fs from "node:fs";
import net from "node:net";
import { RedisServer } from "./redis-server";

/** Sends one inline command over a fresh TCP connection and resolves with the first reply line. */
function ask(host: string, port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
    let reply = "";
    socket.setEncoding("utf8");
    socket.once("error", reject);
    socket.on("connect", () => socket.write(`${command}\r\n`));
    socket.on("data", (chunk: string) => {
      reply += chunk;
      if (reply.includes("\r\n")) {
        socket.end();
        resolve(reply.slice(0, reply.indexOf("\r\n")));
      }
    });
  });
}

describe("RedisServer (the tests' own Redis)", () => {
  test("starts on a free port, answers PING, never saves to disk, and is gone after stop", async () => {
    const redis = await RedisServer.start();
    let stopped = false;
    try {
      expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
      expect(await ask(redis.host, redis.port, "PING")).toBe("+PONG");
      expect(await ask(redis.host, redis.port, "SET k v")).toBe("+OK");
      expect(fs.readdirSync(redis.dir)).toEqual([]); // no dump.rdb, no append-only file
      await redis.stop();
      stopped = true;
      await expect(ask(redis.host, redis.port, "PING")).rejects.toThrow(/ECONNREFUSED/);
      expect(fs.existsSync(redis.dir)).toBe(false);
    } finally {
      if (!stopped) await redis.stop();
    }
  });

  test("two at once get ports of their own", async () => {
    const [a, b] = await Promise.all([RedisServer.start(), RedisServer.start()]);
    try {
      expect(a.port).not.toBe(b.port);
      expect(await ask(a.host, a.port, "PING")).toBe("+PONG");
      expect(await ask(b.host, b.port, "PING")).toBe("+PONG");
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
