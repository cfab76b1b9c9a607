import fs from "node:fs";
import path from "node:path";
import type { Browser } from "playwright-core";
import { checkedPage, launchBrowser, overflowsSideways } from "./browser";
import { removeTempDirs, ROOT, tempDir, TestServer, waitUntil, writeFixture } from "./harness";
import { QUEUE_MODE } from "./queue-mode-env";

/**
 * Issue 13 items 3-6 in a real browser: an app's page (function kinds, workers, figures as SVG
 * charts, versions with Rollback, calls filtered), a call's page (its log line as it is printed,
 * then its result; an error with its remote stack), readable at 375px, used with the keyboard,
 * and no error in the browser's console.
 */

const APP = "page-details";

function source(greeting: string): string {
  return `import fs from "node:fs";
import { Stub, Period } from "stubrun";

const stub = new Stub(${JSON.stringify(APP)});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class Shop {
  /** Prints a line, then waits until the file gate exists, then returns. */
  @stub.webEndpoint({ method: "GET" })
  async order(item: string, gate: string) {
    console.log(\`packing \${item}\`);
    while (!fs.existsSync(gate)) await sleep(50);
    console.log(\`shipped \${item}\`);
    return { item, greeting: ${JSON.stringify(greeting)}, prices: new Map([["eur", 2]]), at: new Date(0) };
  }

  @stub.webEndpoint({ method: "GET" })
  fail(why: string): never {
    throw new TypeError(why);
  }

  @stub.webEndpoint({ method: "GET" })
  ping(n: number) {
    return n;
  }

  @stub.function({ schedule: new Period({ hours: 1 }) })
  hourly() {}
}
`;
}

const FILE = writeFixture("app-page-shop.ts", source("v1"));

describe("an app's page and a call's page", () => {
  let server: TestServer;
  let browser: Browser;
  let appId: string;
  beforeAll(async () => {
    server = await TestServer.start();
    browser = await launchBrowser();
    const deployed = await server.run(["deploy", FILE]);
    if (deployed.code !== 0) throw new Error(`deploy failed:\n${deployed.stdout}${deployed.stderr}`);
    appId = /\((ap-\w+)\)/.exec(deployed.stdout)![1];
  });
  afterAll(async () => {
    await browser?.close();
    await server.stop();
    removeTempDirs();
    fs.writeFileSync(path.join(ROOT, FILE), source("v1"));
  });

  const login = async (width?: number) => {
    const checked = await checkedPage(browser, { width });
    await checked.page.goto(`${server.url}/apps?token=${server.token}`);
    return checked;
  };

  test("a call's page shows its log line as it is printed, then its result; a failed call's error with its remote stack", async () => {
    const gate = path.join(tempDir("app-page"), "gate");
    const pending = fetch(`${server.url}/web/${APP}/Shop.order?item=book&gate=${encodeURIComponent(gate)}`);
    const callId = await waitUntil(
      async () => ((await (await server.api(`/api/apps/${APP}/calls?function=Shop.order&state=running`)).json()) as { id: string }[])[0]?.id,
      { what: "the order call to start" },
    );
    const { page, consoleErrors } = await login(375);
    // From the app's page, the call links to its own page.
    await page.goto(`${server.url}/apps/${appId}`);
    await page.locator(`#calls a`, { hasText: callId }).click();
    await page.waitForURL(`${server.url}/apps/${appId}/calls/${callId}`);
    await expect(page.locator("h1").textContent()).resolves.toBe(`Call ${callId}`);
    await page.locator("#logs", { hasText: "packing book" }).waitFor();
    await expect(page.locator("#call-state").textContent()).resolves.toBe("running");
    expect(await page.locator("#cancel").isEnabled()).toBe(true);
    await expect(page.locator("#args").textContent()).resolves.toContain("#1 'book'");
    expect(await overflowsSideways(page)).toBe(false);

    fs.writeFileSync(gate, "");
    await page.locator("#call-state", { hasText: "succeeded" }).waitFor();
    const result = (await page.locator("#result").textContent()) as string;
    expect(result).toContain("item: 'book'");
    expect(result).toContain("Map(1) { 'eur' => 2 }");
    expect(result).toContain("1970-01-01T00:00:00.000Z");
    await page.locator("#logs", { hasText: "shipped book" }).waitFor();
    expect(await page.locator("#cancel").isDisabled()).toBe(true);
    expect((await pending).status).toBe(200);

    expect((await fetch(`${server.url}/web/${APP}/Shop.fail?why=out%20of%20stock`)).status).toBe(500);
    const failed = ((await (await server.api(`/api/apps/${APP}/calls?function=Shop.fail`)).json()) as { id: string }[])[0].id;
    await page.goto(`${server.url}/apps/${appId}/calls/${failed}`);
    const error = (await page.locator("#error").textContent()) as string;
    expect(error).toContain("TypeError: out of stock");
    expect(error).toMatch(/at .*app-page-shop/);
    await expect(page.locator("#call-state").textContent()).resolves.toBe("failed");

    const missing = await page.goto(`${server.url}/apps/${appId}/calls/fc-nosuch`);
    expect(missing?.status()).toBe(404);
    consoleErrors.splice(consoleErrors.findIndex((e) => e.includes("404")), 1); // the 404 just asked for
    expect(consoleErrors).toEqual([]);
    await page.close();
  });

  test("Cancel on a running call's page stops it", async () => {
    const gate = path.join(tempDir("app-page"), "never");
    const pending = fetch(`${server.url}/web/${APP}/Shop.order?item=kite&gate=${encodeURIComponent(gate)}`);
    const callId = await waitUntil(
      async () => ((await (await server.api(`/api/apps/${APP}/calls?function=Shop.order&state=running`)).json()) as { id: string }[])[0]?.id,
      { what: "the order call to start" },
    );
    const { page, consoleErrors } = await login();
    await page.goto(`${server.url}/apps/${appId}/calls/${callId}`);
    await page.locator("#logs", { hasText: "packing kite" }).waitFor();
    page.once("dialog", (dialog) => void dialog.accept());
    await page.getByRole("button", { name: "Cancel call" }).click();
    await page.locator("#call-state", { hasText: "cancelled" }).waitFor();
    await expect(page.locator("#error").textContent()).resolves.toContain("CallCancelledError");
    expect(await page.locator("#cancel").isDisabled()).toBe(true);
    expect((await pending).status).not.toBe(200); // the web endpoint says the call was cancelled
    expect(consoleErrors).toEqual([]);
    await page.close();
  });

  test("functions with their kinds, workers, calls filtered by function and state, and charts with data after 50 calls", async () => {
    await Promise.all(Array.from({ length: 50 }, (_, i) => fetch(`${server.url}/web/${APP}/Shop.ping?n=${i}`).then((r) => expect(r.status).toBe(200))));
    const { page, consoleErrors } = await login();
    await page.goto(`${server.url}/apps/${appId}`);
    const row = (name: string) => page.locator(`#functions tr[data-function="${name}"]`);
    await expect(row("Shop.ping").locator(".kind").textContent()).resolves.toBe("web endpoint");
    await expect(row("Shop.ping").textContent()).resolves.toContain(`/web/${APP}/Shop.ping`);
    await expect(row("Shop.hourly").locator(".kind").textContent()).resolves.toBe("schedule");
    await expect(row("Shop.hourly").locator(".next-run").textContent()).resolves.toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);

    const figures = page.locator('section.function-figures[data-function="Shop.ping"]');
    await figures.waitFor();
    await expect(figures.getAttribute("data-calls")).resolves.toBe("50");
    const perMinute = JSON.parse((await figures.locator("svg.chart").first().getAttribute("data-values")) as string) as number[];
    expect(perMinute.reduce((a, b) => a + b, 0)).toBe(50);
    expect(await figures.locator("svg.chart").first().locator("rect").count()).toBeGreaterThan(0);
    await expect(figures.textContent()).resolves.toContain("error rate: 0.0%");
    // p50 and p95 charts have bars too.
    expect(await figures.locator("svg.chart").nth(2).locator("rect").count()).toBeGreaterThan(0);
    expect(await figures.locator("svg.chart").nth(3).locator("rect").count()).toBeGreaterThan(0);

    if (!QUEUE_MODE) {
      const worker = page.locator("#workers tr", { hasText: "Shop.ping" }).first();
      await worker.waitFor();
      const cells = await worker.locator("td").allTextContents();
      expect(Number(cells[3])).toBeGreaterThan(0); // calls served
      expect(cells[5]).toMatch(/MiB$/);
    }

    await page.getByLabel("Function", { exact: true }).selectOption("Shop.ping");
    await page.getByLabel("State", { exact: true }).selectOption("succeeded");
    await waitUntil(async () => (await page.locator("#calls tr").allTextContents()).every((t) => t.includes("Shop.ping") && t.includes("succeeded")), { what: "the calls filtered" });
    await page.getByLabel("State", { exact: true }).selectOption("failed");
    await page.locator("#calls tr", { hasText: "No calls match the filter" }).waitFor();
    expect(consoleErrors).toEqual([]);
    await page.close();
  });

  test("rollback from the page (with the keyboard) makes a new version; at 375px nothing scrolls sideways", async () => {
    fs.writeFileSync(path.join(ROOT, FILE), source("v2"));
    const second = await server.run(["deploy", FILE]);
    expect(second.stdout).toMatch(/version 2\b/);

    const { page, consoleErrors } = await login(375);
    await page.goto(`${server.url}/apps/${appId}`);
    expect(await overflowsSideways(page)).toBe(false);
    await expect(page.locator('#versions tr[data-version="2"]').textContent()).resolves.toContain("current");
    const button = page.getByRole("button", { name: "Roll back to version 1" });
    page.once("dialog", (dialog) => void dialog.accept());
    await button.focus();
    await page.keyboard.press("Enter");
    await page.locator("#rollback-result", { hasText: "now version 3" }).waitFor();
    await expect(page.locator("#version").textContent()).resolves.toBe("3");
    await page.locator('#versions tr[data-version="3"]', { hasText: "rollback to version 1" }).waitFor();

    const history = await server.run(["app", "history", APP]);
    expect(history.stdout).toMatch(/^3 \*\s+\S+ \S+\s+rollback to version 1$/m);
    const gate = path.join(tempDir("app-page"), "gate");
    fs.writeFileSync(gate, "");
    const answer = (await (await fetch(`${server.url}/web/${APP}/Shop.order?item=pen&gate=${encodeURIComponent(gate)}`)).json()) as { greeting: string };
    expect(answer.greeting).toBe("v1");
    expect(consoleErrors).toEqual([]);
    await page.close();
  });
});
