import type { IncomingMessage, ServerResponse } from "node:http";
import { answerRefusal, type Access } from "./access";
import { escapeHtml } from "./apps-page";

/**
 * The access check of every HTTP request but web endpoints (see `Access`). Answers the request
 * and returns true when it is refused, or when it is the apps page's login link
 * (`/apps?token=T`: a cookie, then a redirect to the page without the token).
 */
export function refusedHttp(req: IncomingMessage, res: ServerResponse, access: Access, decodedParts: string[]): boolean {
  // Routes match the decoded parts joined by "/": "/api%2Fapps" is "/api/apps" there, so here too.
  const parts = decodedParts.join("/").split("/");
  if (parts[0] === "web") return false; // public by design
  if (parts[0] === "health" && parts.length === 1) return false; // the CLI's probe, at whatever name it uses
  if (parts[0] !== "api" && parts[0] !== "apps") {
    const refusal = access.checkHost(req);
    if (refusal) answerRefusal(res, refusal);
    return refusal !== undefined;
  }
  const door = parts[0] === "api" && (parts[1] === "calls" || parts[1] === "blobs") ? parts[1] : parts[0];
  const query = queryOf(req.url);
  const login = door === "apps" ? query?.get("token") : null;
  if (login != null) {
    const decision = access.check(withoutCredential(req), door);
    // Host and Origin still apply; the token itself is checked here.
    if (!decision.ok && decision.status === 403) return answerRefusal(res, decision), true;
    if (!access.isFullToken(login)) return loginPage(res, "The token in this link is not this server's token (the server may have a new one)."), true;
    query?.delete("token");
    const rest = query?.toString();
    res.writeHead(302, {
      "set-cookie": `${access.cookieName}=${encodeURIComponent(login)}; HttpOnly; SameSite=Strict; Path=/`,
      // Rebuilt from the parts: "//host" in a Location would leave the server.
      location: `/${parts.map(encodeURIComponent).join("/")}${rest ? `?${rest}` : ""}`,
      "cache-control": "no-store",
    });
    res.end();
    return true;
  }
  const decision = access.check(req, door);
  if (decision.ok) return false;
  if (door === "apps" && decision.status === 401) return loginPage(res, "This page needs the server's token."), true;
  answerRefusal(res, decision);
  return true;
}

/** 401 for the apps page in a browser: how to get a link that logs in. */
function loginPage(res: ServerResponse, why: string): void {
  res.writeHead(401, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
  res.end(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>stubrun: log in</title></head>` +
      `<body style="font: 14px/1.45 system-ui, sans-serif; margin: 2rem"><h1>stubrun apps</h1><p>${escapeHtml(why)}</p>` +
      `<p>Open the link that <code>npx stubrun server status</code> prints (with the server's <code>STUBRUN_HOME</code>): ` +
      `it logs this browser in.</p></body></html>`,
  );
}

function queryOf(url: string | undefined): URLSearchParams | undefined {
  const at = (url ?? "").indexOf("?");
  if (at < 0) return undefined;
  try {
    return new URLSearchParams((url ?? "").slice(at + 1));
  } catch {
    return undefined;
  }
}

/** The request's Host and Origin, without what it may carry as a credential: the login link's token replaces those. */
function withoutCredential(req: IncomingMessage): IncomingMessage {
  return { headers: { host: req.headers.host, origin: req.headers.origin }, socket: req.socket } as IncomingMessage;
}
