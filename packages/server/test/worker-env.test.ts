import path from "node:path";
import { prestartedWorkerEnv, withImageAndSecrets, workerEnv } from "../src/server";

/** SPEC §2: a worker's environment, in layers: the basics, its image's variables, its secrets, stubrun's own. */

const server = { PATH: "/usr/bin", HOME: "/home/srv", LANG: "C.UTF-8", SECRET_OF_SERVER: "x" };
const base = workerEnv("http://127.0.0.1:7420", "ap-1", "app-token", server);

describe("withImageAndSecrets", () => {
  test("without an image: the basics, the secrets, stubrun's variables; nothing else of the server", () => {
    expect(withImageAndSecrets(base, undefined, {}, { API_KEY: "k" })).toEqual({
      PATH: "/usr/bin",
      HOME: "/home/srv",
      LANG: "C.UTF-8",
      STUBRUN_SERVER_URL: "http://127.0.0.1:7420",
      STUBRUN_APP_ID: "ap-1",
      STUBRUN_TOKEN: "app-token",
      STUBRUN_ENV: "main",
      API_KEY: "k",
    });
  });

  test("an image adds its variables, its bin first on PATH and STUBRUN_IMAGE_DIR; secrets win over its variables", () => {
    const env = withImageAndSecrets(base, "/h/images/abc", { MODE: "image", CLASH: "image", TZ: "Europe/Paris" }, { CLASH: "secret" });
    expect(env).toMatchObject({ MODE: "image", CLASH: "secret", TZ: "Europe/Paris", STUBRUN_IMAGE_DIR: "/h/images/abc" });
    expect(env.PATH).toBe([path.join("/h/images/abc", "node_modules", ".bin"), "/usr/bin"].join(path.delimiter));
  });

  test("neither an image nor a secret overrides stubrun's variables; a secret does not override the basics either", () => {
    const env = withImageAndSecrets(
      base,
      "/h/images/abc",
      { STUBRUN_TOKEN: "image", STUBRUN_APP_ID: "image" },
      { PATH: "/evil", HOME: "/evil", STUBRUN_TOKEN: "secret", STUBRUN_SERVER_URL: "secret", STUBRUN_IMAGE_DIR: "/evil" },
    );
    expect(env).toMatchObject({ HOME: "/home/srv", STUBRUN_TOKEN: "app-token", STUBRUN_APP_ID: "ap-1", STUBRUN_SERVER_URL: "http://127.0.0.1:7420", STUBRUN_IMAGE_DIR: "/h/images/abc" });
    expect(env.PATH?.startsWith("/h/images/abc")).toBe(true);
  });
});

describe("prestartedWorkerEnv", () => {
  test("workers started ahead (on a server or a node) get the basics only: nothing of stubrun's, of an app or of the server's own", () => {
    expect(prestartedWorkerEnv({ ...server, STUBRUN_TOKEN: "full", STUBRUN_HOME: "/h" })).toEqual({ PATH: "/usr/bin", HOME: "/home/srv", LANG: "C.UTF-8" });
  });
});
