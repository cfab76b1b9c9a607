import fs from "node:fs";
import path from "node:path";

/**
 * The server's variables a build keeps: the basics workers get (SPEC §2), and how this machine
 * reaches the npm registry (proxies, a registry mirror, the certificates it trusts).
 */
const KEPT = [
  ...["PATH", "HOME", "LANG", "TZ"],
  ...["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"],
  ...["npm_config_registry", "NPM_CONFIG_REGISTRY", "npm_config_cafile", "NPM_CONFIG_CAFILE"],
  ...["NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR"],
];

/**
 * The environment of a build step: the basics, the image's variables so far, and PATH led by the
 * image's `node_modules/.bin`, then this Node's folder (npm's scripts and node-gyp run `node`).
 * `STUBRUN_IMAGE_DIR` names the image's folder, as it does in workers.
 */
export function buildEnv(imageDir: string, imageEnv: Record<string, string>, from: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of KEPT) if (from[key] !== undefined) env[key] = from[key];
  Object.assign(env, imageEnv);
  env.PATH = [path.join(imageDir, "node_modules", ".bin"), path.dirname(process.execPath), env.PATH].filter(Boolean).join(path.delimiter);
  env.STUBRUN_IMAGE_DIR = imageDir;
  env.npm_config_update_notifier = "false";
  return env;
}

/** The npm that came with this Node (its npm-cli.js run by this Node, or the `npm` beside it), else `npm` from PATH. */
export function npmCommand(execPath: string = process.execPath): { command: string; args: string[] } {
  const nodeDir = path.dirname(execPath);
  const cli = path.join(nodeDir, "..", "lib", "node_modules", "npm", "bin", "npm-cli.js");
  if (fs.existsSync(cli)) return { command: execPath, args: [cli] };
  const beside = path.join(nodeDir, process.platform === "win32" ? "npm.cmd" : "npm");
  if (fs.existsSync(beside)) return { command: beside, args: [] };
  return { command: "npm", args: [] };
}
