import { Page, Response } from "@playwright/test";
import { test, expect, ANA, hydrated, signIn } from "./helpers";

/** A file of the bundle under its content-hashed name (scripts/build.sh). */
const HASHED = /\/pkg\/millrace\.[0-9a-f]{16}\.(js|wasm|css)$/;

/** What the page's Resource Timing says it received: the page itself and each /pkg file. */
async function received(page: Page) {
  return page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
    const assets = (performance.getEntriesByType("resource") as PerformanceResourceTiming[])
      .filter((e) => new URL(e.name).pathname.startsWith("/pkg/"))
      .map((e) => ({
        path: new URL(e.name).pathname,
        transfer: e.transferSize,
        encoded: e.encodedBodySize,
        decoded: e.decodedBodySize,
      }));
    return { html: nav.transferSize, assets };
  });
}

/** Opens /orders in a new page of the context; the bytes it received and when it hydrated. */
async function visitOrders(page: Page) {
  const responses: Response[] = [];
  page.on("response", (r) => {
    if (new URL(r.url()).pathname.startsWith("/pkg/")) responses.push(r);
  });
  const navigation = await page.goto("/orders");
  await hydrated(page);
  const interactiveMs = await page.evaluate(() => performance.now());
  await expect(page.getByRole("heading", { name: "Purchase orders" })).toBeVisible();
  return { navigation: navigation!, responses, interactiveMs, ...(await received(page)) };
}

test("the bundle arrives compressed, cached by its hashed name, and is not fetched again", async ({
  browser,
  page,
}) => {
  // Signed in, then a fresh context (empty cache) with the same session: a signed-in
  // supplier's first visit of /orders.
  await signIn(page, ANA);
  const storageState = await page.context().storageState();
  const context = await browser.newContext({ storageState });
  try {
    const first = await visitOrders(await context.newPage());

    // The page itself comes compressed, and is not kept as immutable.
    const pageHeaders = await first.navigation.allHeaders();
    const accepted = (await first.navigation.request().allHeaders())["accept-encoding"] ?? "";
    const expected = /\bbr\b/.test(accepted) ? "br" : "gzip";
    expect(pageHeaders["content-encoding"], `the page, asked with ${accepted}`).toBe(expected);
    expect(pageHeaders["cache-control"] ?? "").not.toContain("immutable");

    // Each file of the bundle: hashed name, precompressed, immutable for a year.
    const kinds = new Set<string>();
    for (const r of first.responses) {
      const path = new URL(r.url()).pathname;
      expect(path, "the pages name the hashed files").toMatch(HASHED);
      kinds.add(path.split(".").pop()!);
      const headers = await r.allHeaders();
      expect(r.status(), path).toBe(200);
      expect(headers["content-encoding"], path).toBe(expected);
      expect(headers["cache-control"], path).toBe("public, max-age=31536000, immutable");
      expect(headers["vary"] ?? "", path).toMatch(/accept-encoding/i);
    }
    expect([...kinds].sort()).toEqual(["css", "js", "wasm"]);
    for (const a of first.assets) {
      expect(a.transfer, `${a.path} came over the network`).toBeGreaterThan(0);
      expect(a.encoded, `${a.path} came compressed`).toBeLessThan(a.decoded);
    }

    // The repeat visit: only the page; every file of the bundle from the cache.
    const repeat = await visitOrders(await context.newPage());
    expect(repeat.assets.length).toBeGreaterThan(0);
    for (const a of repeat.assets) {
      expect(a.transfer, `${a.path} came from the cache`).toBe(0);
    }

    // Recorded in bench/README.md (Chromium's view of the same visits).
    const kb = (n: number) => (n / 1024).toFixed(1);
    const sum = (v: typeof first) => v.html + v.assets.reduce((s, a) => s + a.transfer, 0);
    console.log(
      `first visit of /orders (${accepted}): ${kb(sum(first))} KB received ` +
        `(page ${kb(first.html)} KB; ${first.assets.map((a) => `${a.path.split("/").pop()} ${kb(a.transfer)} KB`).join(", ")}), ` +
        `hydrated after ${first.interactiveMs.toFixed(0)} ms; ` +
        `repeat visit: ${kb(sum(repeat))} KB, hydrated after ${repeat.interactiveMs.toFixed(0)} ms`,
    );
  } finally {
    await context.close();
  }
});
