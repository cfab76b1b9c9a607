import { chromium, type Browser, type Page } from "playwright-core";

/** Debian's chromium, driven by playwright-core (.ci/run installs it). */
export const CHROMIUM = process.env.STUBRUN_CHROMIUM ?? "/usr/bin/chromium";

/** Starts chromium with nothing leaving this machine: names resolve to nothing but loopback, no background requests. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"],
  });
}

/** A page that records what the browser's console reports as errors (and uncaught exceptions), for tests to assert none. */
export async function checkedPage(browser: Browser, options: { width?: number } = {}): Promise<{ page: Page; consoleErrors: string[] }> {
  const page = await browser.newPage(options.width ? { viewport: { width: options.width, height: 800 } } : {});
  const consoleErrors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") consoleErrors.push(`${message.text()} (${page.url()})`);
  });
  page.on("pageerror", (error) => consoleErrors.push(`${error.name}: ${error.message} (${page.url()})`));
  return { page, consoleErrors };
}

/** Whether the page scrolls sideways (it should not: wide tables scroll in their own box). */
export function overflowsSideways(page: Page): Promise<boolean> {
  // Runs in the page; the tests are type-checked without the DOM's types.
  return page.evaluate(() => {
    const w = globalThis as unknown as { innerWidth: number; document: { documentElement: { scrollWidth: number } } };
    return w.document.documentElement.scrollWidth > w.innerWidth;
  });
}
