import http from "node:http";
import { AddressInfo } from "node:net";
import { test, expect, ANA, DOUBLE_URL, hydrated, signIn } from "./helpers";

test("pages come with the security headers and hydrate under the policy", async ({ page }) => {
  const response = await page.goto("/login");
  const headers = response!.headers();
  const csp = headers["content-security-policy"];
  for (const directive of [
    "default-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "'wasm-unsafe-eval'",
  ]) {
    expect(csp).toContain(directive);
  }
  expect(csp).toMatch(/script-src [^;]*'nonce-[A-Za-z0-9_-]{22,}'/);
  expect(csp).not.toContain("unsafe-inline");
  expect(headers["x-frame-options"]).toBe("DENY");
  expect(headers["x-content-type-options"]).toBe("nosniff");
  expect(headers["referrer-policy"]).toBe("same-origin");
  // The WebAssembly ran: the policy lets the bundle and Leptos's own scripts through (and the
  // shared fixture fails the test on any violation).
  await hydrated(page);
  await signIn(page, ANA);
  await page.goto("/performance");
  await hydrated(page);
});

test("another site cannot frame the portal", async ({ page, baseURL, cspViolations }) => {
  // A page of another origin (a server of its own on loopback, so the browser's private
  // network rules do not interfere) framing the sign-in page, and for comparison a page of
  // the Odoo double, which sends no such headers.
  const control = `${DOUBLE_URL}/__double/purchase.order/P00001`;
  const framer = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html" });
    res.end(`<!DOCTYPE html><title>framer</title>
      <iframe name="portal" src="${baseURL}/login"></iframe>
      <iframe name="control" src="${control}"></iframe>`);
  });
  await new Promise<void>((listening) => framer.listen(0, "127.0.0.1", listening));
  try {
    const { port } = framer.address() as AddressInfo;
    const refused = page.waitForEvent("console", (m) => /frame-ancestors 'none'/.test(m.text()));
    await page.goto(`http://127.0.0.1:${port}/`);
    await refused;
    await expect(page.frameLocator("iframe[name=control]").locator("h1")).toBeVisible();
    expect(page.frame({ name: "portal" })?.url()).not.toContain(baseURL!);
    await expect(
      page.frameLocator("iframe[name=portal]").getByRole("heading", { name: "Sign in to Millrace" }),
    ).toHaveCount(0);
  } finally {
    framer.close();
  }
  // That refusal is the one violation this test expects.
  expect(cspViolations.length).toBeGreaterThan(0);
  expect(cspViolations.filter((v) => !/frame-ancestors/.test(v))).toEqual([]);
  cspViolations.length = 0;
});
