import type { Browser } from "playwright-core";
import { checkedPage, launchBrowser, overflowsSideways } from "./browser";
import { TestServer, writeFixture } from "./harness";

/** The apps page, in a real browser: the list, an app's page with its logs followed live, and the stop button. */
describe("apps page", () => {
  let server: TestServer;
  let browser: Browser;
  beforeAll(async () => {
    server = await TestServer.start();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server.stop();
  });

  test("lists apps, shows an app's functions, calls and live logs, and stops it", async () => {
    const file = writeFixture(
      "apps-page-app.ts",
      `import { Stub } from "stubrun";
const stub = new Stub("apps-page-demo");
class Demo {
  @stub.webEndpoint({ method: "GET" })
  hello(name = "world") {
    console.log(\`said hello to \${name}\`);
    return \`hello \${name}\`;
  }

  @stub.function()
  idle() {}
}
`,
    );
    expect((await server.run(["deploy", file])).code).toBe(0);
    await fetch(`${server.url}/web/apps-page-demo/Demo.hello?name=first`);

    const page = await browser.newPage();
    // Without the token the page says how to get in...
    const refused = await page.goto(`${server.url}/apps`);
    expect(refused?.status()).toBe(401);
    await expect(page.locator("body").textContent()).resolves.toContain("npx stubrun server status");
    // ...and the link that `server status` prints logs this browser in.
    const status = await server.run(["server", "status"]);
    const link = /Apps page \(this link logs a browser in\): (\S+)/.exec(status.stdout)?.[1];
    expect(link).toBe(`${server.url}/apps?token=${server.token}`);
    const login = await page.goto(link as string);
    expect(login?.status()).toBe(200);
    expect(page.url()).toBe(`${server.url}/apps`);
    const row = page.locator("tr", { hasText: "apps-page-demo" });
    await expect(row.locator("td").nth(2).textContent()).resolves.toBe("deployed");
    await expect(row.locator("td").nth(3).textContent()).resolves.toBe("1");
    const appId = (await row.locator("td").nth(1).textContent()) as string;
    expect(appId).toMatch(/^ap-/);

    await row.getByRole("link", { name: "apps-page-demo" }).click();
    await page.waitForURL(`${server.url}/apps/${appId}`);
    await expect(page.locator("h1").textContent()).resolves.toBe("apps-page-demo");
    const functions = await page.locator("table").first().textContent();
    expect(functions).toContain("Demo.hello");
    expect(functions).toContain("Demo.idle");
    expect(functions).toContain(`/web/apps-page-demo/Demo.hello`);
    await expect(page.locator("#calls").textContent()).resolves.toContain("succeeded");
    await page.locator("#logs", { hasText: "said hello to first" }).waitFor();

    // A new call's output shows up in the open page, live.
    await fetch(`${server.url}/web/apps-page-demo/Demo.hello?name=live`);
    await page.locator("#logs", { hasText: "said hello to live" }).waitFor();
    // ...and the call itself joins the recent calls.
    await page.locator("#calls tr").nth(1).waitFor();

    page.once("dialog", (dialog) => void dialog.accept());
    await page.locator("#stop").click();
    await page.locator("#state", { hasText: "stopped" }).waitFor();
    expect(await page.locator("#stop").isDisabled()).toBe(true);
    const apps = JSON.parse((await server.run(["app", "list", "--json"])).stdout) as { id: string; state: string }[];
    expect(apps.find((a) => a.id === appId)?.state).toBe("stopped");
    expect((await fetch(`${server.url}/web/apps-page-demo/Demo.hello`)).status).toBe(404);

    await page.goto(`${server.url}/apps`);
    await page.screenshot({ path: `${server.home}/apps-page.png` });
  });

  test("Delete on an app's page removes it: gone from app list, its page says so, its name is free again", async () => {
    const file = writeFixture(
      "apps-page-delete.ts",
      `import { Stub } from "stubrun";
const stub = new Stub("apps-page-delete");
class Doomed {
  @stub.webEndpoint()
  ping() {
    return "pong";
  }
}
`,
    );
    expect((await server.run(["deploy", file])).code).toBe(0);
    expect((await fetch(`${server.url}/web/apps-page-delete/Doomed.ping`)).status).toBe(200);
    const appId = (JSON.parse((await server.run(["app", "list", "--json"])).stdout) as { id: string; name: string }[]).find((a) => a.name === "apps-page-delete")!.id;

    const page = await browser.newPage();
    await page.goto(`${server.url}/apps?token=${server.token}`);
    await page.goto(`${server.url}/apps/${appId}`);
    page.once("dialog", (dialog) => void dialog.accept());
    await page.locator("#delete").click();
    await page.locator("#deleted", { hasText: `App ${appId} was deleted` }).waitFor();

    const apps = JSON.parse((await server.run(["app", "list", "--json"])).stdout) as { id: string }[];
    expect(apps.some((a) => a.id === appId)).toBe(false);
    expect((await fetch(`${server.url}/web/apps-page-delete/Doomed.ping`)).status).toBe(404);
    const gone = await page.goto(`${server.url}/apps/${appId}`);
    expect(gone?.status()).toBe(404);
    await expect(page.locator("#missing").textContent()).resolves.toContain("it was deleted");
    // The name is free: a new deploy makes a new app, version 1.
    const again = await server.run(["deploy", file]);
    expect(again.stdout).toMatch(/^Created app apps-page-delete \(ap-\w+\), version 1/);
    await page.close();
  });

  test("the list: running apps first, stopped ones in their own section, a filter by name and state, updated live; no console errors, readable at 375px", async () => {
    const make = (name: string) =>
      writeFixture(`apps-page-list-${name}.ts`, `import { Stub } from "stubrun";\nconst stub = new Stub("${name}");\nclass L { @stub.function() f() {} }\n`);
    expect((await server.run(["deploy", make("list-alpha")])).code).toBe(0);
    expect((await server.run(["deploy", make("list-beta")])).code).toBe(0);
    expect((await server.run(["app", "stop", "list-beta", "--yes"])).code).toBe(0);

    const { page, consoleErrors } = await checkedPage(browser, { width: 375 });
    await page.goto(`${server.url}/apps?token=${server.token}`);
    await page.locator("#apps tr", { hasText: "list-alpha" }).waitFor();
    await page.locator("#stopped-apps tr", { hasText: "list-beta" }).waitFor();
    expect(await page.locator("#apps tr", { hasText: "list-beta" }).count()).toBe(0);

    // Filters apply to both sections, as they are typed.
    await page.getByLabel("Name").fill("alpha");
    await page.locator("#stopped-apps tr", { hasText: "No stopped app" }).waitFor();
    expect(await page.locator("#apps tr", { hasText: "list-alpha" }).count()).toBe(1);
    await page.getByLabel("Name").fill("");
    await page.getByLabel("State").selectOption("stopped");
    await page.locator("#apps tr", { hasText: "No app is running" }).waitFor();
    expect(await page.locator("#stopped-apps tr", { hasText: "list-beta" }).count()).toBe(1);
    await page.getByLabel("State").selectOption("");

    // A new app shows up without a reload.
    expect((await server.run(["deploy", make("list-gamma")])).code).toBe(0);
    await page.locator("#apps tr", { hasText: "list-gamma" }).waitFor({ timeout: 10_000 });
    expect(await overflowsSideways(page)).toBe(false);
    expect(consoleErrors).toEqual([]);
    await page.close();
  });
});
