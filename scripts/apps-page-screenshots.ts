/**
 * Takes the screenshots in docs/apps-page.md: the apps list, an app's page and a call's page,
 * of a small demo app on a server of its own (a temporary STUBRUN_HOME), in Debian's chromium
 * driven by playwright-core. Run: `npm run build && npx tsx scripts/apps-page-screenshots.ts`.
 */
import path from "node:path";
import { launchBrowser } from "../test/e2e/browser";
import { ROOT, TestServer, writeFixture } from "../test/e2e/harness";

const OUT = path.join(ROOT, "docs/images");

function demo(note: string): string {
  return `import { Stub, Period } from "stubrun";

const stub = new Stub("shop");

class Shop {
  @stub.webEndpoint({ method: "GET" })
  async order(item: string, qty = 1) {
    console.log(\`packing \${qty} x \${item}\`);
    await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
    if (item === "unicorn") throw new RangeError(\`no \${item} in stock\`);
    console.log(\`shipped \${item} (${note})\`);
    return { item, qty, total: qty * 4.5, at: new Date() };
  }

  @stub.function({ schedule: new Period({ hours: 1 }) })
  restock() {
    console.log("restocked");
  }
}
`;
}

async function main(): Promise<void> {
  const server = await TestServer.start();
  const browser = await launchBrowser();
  try {
    const file = writeFixture("screenshots-shop.ts", demo("first"));
    await server.run(["deploy", file]);
    writeFixture("screenshots-shop.ts", demo("faster packing"));
    await server.run(["deploy", file]);
    const other = writeFixture("screenshots-other.ts", `import { Stub } from "stubrun";\nconst stub = new Stub("reports");\nclass Reports { @stub.function() build() {} }\n`);
    await server.run(["deploy", other]);
    await server.run(["app", "stop", "reports", "--yes"]);
    const items = ["book", "pen", "lamp", "mug", "unicorn"];
    await Promise.all(Array.from({ length: 12 }, (_, i) => fetch(`${server.url}/web/shop/Shop.order?item=${items[i % items.length]}&qty=${(i % 3) + 1}`)));
    const calls = (await (await server.api("/api/apps/shop/calls?function=Shop.order&state=succeeded")).json()) as { id: string }[];
    const app = (await (await server.api("/api/apps/shop")).json()) as { id: string };

    const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    await page.goto(`${server.url}/apps?token=${server.token}`);
    await page.locator("#apps tr", { hasText: "shop" }).waitFor();
    await page.screenshot({ path: path.join(OUT, "apps-list.png"), fullPage: true });
    await page.goto(`${server.url}/apps/${app.id}`);
    await page.locator("section.function-figures").first().waitFor();
    await page.locator("#logs", { hasText: "shipped" }).first().waitFor();
    await page.screenshot({ path: path.join(OUT, "app-page.png"), fullPage: true });
    await page.goto(`${server.url}/apps/${app.id}/calls/${calls[0].id}`);
    await page.locator("#logs", { hasText: "shipped" }).waitFor();
    await page.screenshot({ path: path.join(OUT, "call-page.png"), fullPage: true });
    await page.setViewportSize({ width: 375, height: 800 });
    await page.goto(`${server.url}/apps/${app.id}`);
    await page.locator("section.function-figures").first().waitFor();
    await page.screenshot({ path: path.join(OUT, "app-page-narrow.png") });
    process.stderr.write(`screenshots written to ${path.relative(ROOT, OUT)}/\n`);
  } finally {
    await browser.close();
    await server.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
