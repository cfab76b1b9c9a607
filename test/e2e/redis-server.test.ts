import fs from "node:fs";
import net from "node:net";
import { RedisServer } from "./redis-server";
import { TestHost, testWithTestHost } from "./test-host";

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

  testWithTestHost("bound to a test host's address, nodes in the namespace reach it (and loopback there is not it)", async () => {
    const lan = await TestHost.create();
    const redis = await RedisServer.start({ host: lan.hostAddress });
    try {
      expect(redis.url).toBe(`redis://${lan.hostAddress}:${redis.port}`);
      const ping = (host: string) =>
        new Promise<string>((resolve) => {
          const program = `const s = require("node:net").connect(${redis.port}, ${JSON.stringify(host)});
s.on("connect", () => s.write("PING\\r\\n")); s.on("data", (d) => { console.log(String(d).trim()); s.end(); });
s.on("error", (e) => console.log(e.code));`;
          const child = lan.run(process.execPath, ["-e", program], { stdio: ["ignore", "pipe", "inherit"] });
          let out = "";
          child.stdout!.setEncoding("utf8").on("data", (d: string) => (out += d));
          child.on("close", () => resolve(out.trim()));
        });
      expect(await ping(lan.hostAddress)).toBe("+PONG");
      expect(await ping("127.0.0.1")).toBe("ECONNREFUSED");
    } finally {
      await redis.stop();
      lan.destroy();
    }
  });
});
