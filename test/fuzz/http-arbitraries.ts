import fc from "fast-check";

/** What the HTTP generators aim at: the apps that exist, and the headers that authenticate. */
export interface HttpTargets {
  /** An app whose web endpoints and API the fuzzer may hit with anything but stop and rollback. */
  target: string;
  /** An app the fuzzer may also stop or roll back. */
  victim: string;
  /** `host:port` of the server. */
  host: string;
  auth: Record<string, string>;
}

const METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "CONNECT", "TRACE", "get", "G ET", "GET\0", "PROPFIND", "M".repeat(300), ""];

/** Path segments that have broken servers: bad escapes, dot segments, empty segments, huge and odd text. */
function segment(apps: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(...apps),
    fc.constantFrom("%", "%zz", "%E0%A4%A", "%00", "..", ".", "", "%2F", "%2e%2e", "constructor", "__proto__", "toString", "valueOf", "hasOwnProperty", "ap-xxxxxxxxxx", "\u00e9", "%F0%9F%98%80", "a;b", "*"),
    fc.string({ maxLength: 40 }).map(encodeURIComponent),
    fc.string({ unit: "binary-ascii", maxLength: 40 }).map((s) => s.replace(/[\s?#]/g, "")),
    fc.integer({ min: 1, max: 70_000 }).map((n) => "s".repeat(n)),
  );
}

/** Every route of the HTTP side, as segments (APP filled in later). */
const ROUTES: string[][] = [
  ["health"],
  ["api", "apps"],
  ["api", "apps", "APP"],
  ["api", "apps", "APP", "stop"],
  ["api", "apps", "APP", "logs"],
  ["api", "apps", "APP", "history"],
  ["api", "apps", "APP", "rollback"],
  ["api", "apps", "APP", "calls"],
  ["apps"],
  ["apps", "APP"],
  ["web", "APP", "Target.get"],
  ["web", "APP", "Target.post"],
  ["web", "APP", "Target.echo"],
  ["ws"],
  [],
];

/** A query string: real parameters with odd values, odd keys, or a huge one. */
function query(): fc.Arbitrary<string> {
  const value = fc.oneof(
    fc.constantFrom("1", "0", "-1", "1e999", "NaN", "Infinity", "true", "", "%", "%zz", "[]", "{}", '{"a":1}', "null", "2026-13-45", "9".repeat(400), "1&follow=1"),
    fc.string({ maxLength: 30 }).map(encodeURIComponent),
  );
  const key = fc.oneof(fc.constantFrom("name", "times", "loud", "limit", "follow", "version", "items", "label", "constructor", "__proto__", "valueOf", "toString", "x", ""), fc.string({ maxLength: 10 }).map(encodeURIComponent));
  return fc.oneof(
    { weight: 6, arbitrary: fc.array(fc.tuple(key, value), { maxLength: 8 }).map((pairs) => (pairs.length ? "?" + pairs.map(([k, v]) => `${k}=${v}`).join("&") : "")) },
    { weight: 1, arbitrary: fc.integer({ min: 8_000, max: 200_000 }).map((n) => `?name=${"q".repeat(n)}`) },
    { weight: 1, arbitrary: fc.integer({ min: 100, max: 20_000 }).map((n) => "?" + Array.from({ length: n }, (_, i) => `k${i}=${i}`).join("&")) },
    { weight: 1, arbitrary: fc.constantFrom("?", "??", "?&&&", "?=", "?%", "?a=%", "?limit=10000&follow=1", "?version=1", "?version=99999999999999999999") },
  );
}

/** A request body: JSON that is right, wrong, deep or huge, or not JSON at all. */
function body(): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constant("") },
    { weight: 3, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
    { weight: 3, arbitrary: fc.record({ items: fc.oneof(fc.array(fc.integer()), fc.jsonValue()), label: fc.oneof(fc.string(), fc.jsonValue()) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.constantFrom('{"items":[1e999],"label":"x"}', '{"constructor":1}', '{"__proto__":{"x":1}}', "{", "[", "null", '"str"', "\u0000\u0001", '{"items":' + "[".repeat(3000) + "]".repeat(3000) + "}") },
    { weight: 1, arbitrary: fc.integer({ min: 2, max: 200_000 }).map((d) => '{"items":' + "[".repeat(d) + "]".repeat(d) + ',"label":"x"}') },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 12 }).map((mib) => '{"label":"' + "b".repeat(mib * 1024 * 1024) + '"}') },
    { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 300 }) },
  );
}

/** Headers: right ones, wrong ones, contradicting ones. */
function headers(targets: HttpTargets): fc.Arbitrary<string[]> {
  const odd = fc.oneof(
    fc.constantFrom(
      "Content-Length: -1",
      "Content-Length: abc",
      "Content-Length: 99999999999999999999",
      "Content-Length: 10",
      "Content-Length: 0",
      "Transfer-Encoding: chunked",
      "Transfer-Encoding: gzip, chunked",
      "Content-Type: application/json",
      "Content-Type: text/plain; charset=utf-7",
      "Origin: https://evil.example",
      "Origin: null",
      "Host: evil.example",
      "Host:",
      "Connection: Upgrade",
      "Upgrade: websocket",
      "Sec-WebSocket-Version: 13",
      "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==",
      "Sec-WebSocket-Key: %",
      "Accept: text/event-stream",
      "Authorization: Bearer wrong",
      "Authorization: Basic Zm9vOmJhcg==",
      "Expect: 100-continue",
      "Cookie: " + "c".repeat(5000),
      ": no-name",
      "No-Colon",
      "X-Long: " + "h".repeat(20_000),
    ),
    fc.tuple(fc.string({ unit: "binary-ascii", maxLength: 20 }), fc.string({ unit: "binary-ascii", maxLength: 60 })).map(([k, v]) => `${k}: ${v}`),
  );
  const auth = Object.entries(targets.auth).map(([k, v]) => `${k}: ${v}`);
  return fc.tuple(fc.boolean(), fc.boolean(), fc.array(odd, { maxLength: 6 })).map(([withHost, withAuth, rest]) => [
    ...(withHost ? [`Host: ${targets.host}`] : []),
    ...(withAuth ? auth : []),
    ...rest,
  ]);
}

/** One raw HTTP/1.1 request (sometimes cut short, sometimes with a wrong version or line endings). */
export function httpRequests(targets: HttpTargets): fc.Arbitrary<Buffer> {
  const apps = [targets.target, targets.victim];
  const route = fc.constantFrom(...ROUTES).chain((parts) =>
    fc.tuple(...parts.map((p) => (p === "APP" ? segment(apps) : fc.oneof({ weight: 9, arbitrary: fc.constant(p) }, { weight: 1, arbitrary: segment(apps) })))).map((segs) => segs),
  );
  const pathText = fc.oneof(
    { weight: 8, arbitrary: route.map((segs) => "/" + segs.join("/")) },
    { weight: 2, arbitrary: fc.constantFrom("//%", "/%", "//", "*", "http://evil.example/api/apps", "/api//apps", "/api/apps/%E0%A4%A/stop", "/..%2f..%2fetc/passwd", "/web//", "/web/%/%", "", " ", "/api/apps/\u00ff") },
  );
  /** Stopping or rolling back the target would hide its routes from every later run. */
  const safe = (p: string) => (/\/(stop|rollback)$/.test(p) && p.includes(`/${targets.target}/`) ? p.replace(`/${targets.target}/`, `/${targets.victim}/`) : p);
  const withLength = (hs: string[], b: string) => (b && !hs.some((h) => /^(content-length|transfer-encoding):/i.test(h)) ? [...hs, `Content-Length: ${Buffer.byteLength(b)}`] : hs);

  // Well-formed HTTP/1.1 with hostile content: these reach the routes.
  const wellFormed = fc
    .tuple(
      fc.oneof({ weight: 9, arbitrary: fc.constantFrom("GET", "POST") }, { weight: 1, arbitrary: fc.constantFrom("PUT", "DELETE", "HEAD", "OPTIONS", "PATCH") }),
      pathText,
      query(),
      fc.array(fc.constantFrom("Origin: https://evil.example", "Origin: null", "Content-Type: application/json", "Content-Type: text/plain", "Accept: text/event-stream", "Authorization: Bearer wrong", "Connection: close", "Upgrade: websocket"), { maxLength: 2 }),
      fc.boolean(),
      body(),
    )
    .map(([method, p, q, extra, withAuth, b]) => {
      const auth = withAuth ? Object.entries(targets.auth).map(([k, v]) => `${k}: ${v}`) : [];
      const lines = [`${method} ${safe(p)}${q} HTTP/1.1`, `Host: ${targets.host}`, ...auth, ...withLength(extra, b)];
      return Buffer.from(lines.join("\r\n") + "\r\n\r\n" + b);
    });

  // Anything: wrong methods, versions, headers and line endings, requests cut short.
  const broken = fc
    .tuple(
      fc.constantFrom(...METHODS),
      pathText,
      query(),
      fc.constantFrom("HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/9", "", "HTTP/1.1 extra"),
      headers(targets),
      body(),
      fc.constantFrom("\r\n", "\n", "\r"),
      fc.oneof({ weight: 2, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat() }),
    )
    .map(([method, p, q, version, hs, b, eol, cut]) => {
      const raw = Buffer.from([`${method} ${safe(p)}${q} ${version}`.trimEnd(), ...withLength(hs, b)].join(eol) + eol + eol + b);
      return cut >= 0 ? raw.subarray(0, cut % Math.max(1, raw.length)) : raw;
    });

  return fc.oneof({ weight: 7, arbitrary: wellFormed }, { weight: 3, arbitrary: broken });
}
