import { isLoopbackUrl, UsageError } from "@stubrun/protocol";
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

/**
 * Who may use the server. On loopback anyone on this machine may (like the daemon's own
 * clients). A server that listens elsewhere needs a token (`STUBRUN_TOKEN`), which every client
 * not on this machine must send as `Authorization: Bearer TOKEN`.
 */
export class Access {
  private constructor(private readonly token: Buffer | undefined) {}

  static forHost(host: string, token: string | undefined): Access {
    if (!isLoopbackHost(host) && !token) {
      throw new UsageError(`listening on ${host} (not loopback) needs a token that clients must send: set STUBRUN_TOKEN for the server and its clients`);
    }
    return new Access(token ? Buffer.from(token) : undefined);
  }

  allows(req: IncomingMessage): boolean {
    if (!this.token || isLoopbackAddress(req.socket.remoteAddress)) return true;
    const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    if (!given) return false;
    const buffer = Buffer.from(given);
    return buffer.length === this.token.length && timingSafeEqual(buffer, this.token);
  }
}

export function isLoopbackHost(host: string): boolean {
  return isLoopbackUrl(`http://${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}`);
}

function isLoopbackAddress(address: string | undefined): boolean {
  return !!address && (address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127."));
}
