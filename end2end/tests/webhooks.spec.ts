import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer, IncomingMessage, Server } from "node:http";
import { AddressInfo } from "node:net";
import { ANA, TOM, expect, hydrated, signIn, signOut, test, watchErrors } from "./helpers";

type Received = { headers: IncomingMessage["headers"]; body: string };

/** A receiver on this machine that records what it gets and answers 200. */
async function receiver(): Promise<{ server: Server; url: string; got: Received[] }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      got.push({ headers: req.headers, body });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as AddressInfo).port;
  return { server, url: `http://127.0.0.1:${port}/hooks`, got };
}

/** The Standard Webhooks check, written here from the specification. */
function verified(secret: string, m: Received): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const signed = `${m.headers["webhook-id"]}.${m.headers["webhook-timestamp"]}.${m.body}`;
  const expected = createHmac("sha256", key).update(signed).digest();
  return String(m.headers["webhook-signature"] ?? "")
    .split(" ")
    .map((s) => Buffer.from(s.replace(/^v1,/, ""), "base64"))
    .some((sig) => sig.length === expected.length && timingSafeEqual(sig, expected));
}

test("a supplier admin points events at the ERP, checks the signature, pauses and resumes it; others cannot see it", async ({ page }) => {
  const errors = watchErrors(page);
  const rx = await receiver();
  try {
    await signIn(page, ANA);
    await page.getByRole("link", { name: "Webhooks" }).click();
    await expect(page).toHaveURL(/\/webhooks$/);
    await hydrated(page);
    // The demo's own receiver has been getting real events (and answering 204) since the
    // first poll; which ones are the latest depends on what ran before.
    await expect(page.locator("[data-webhook='Gemini ERP (demo receiver)'] [data-testid=webhook-log]")).toBeVisible();
    await expect(page.locator("[data-webhook='Gemini ERP (demo receiver)'] [data-testid=webhook-log] tr.ok td[data-label='Answer']").first()).toHaveText("204");

    await page.getByLabel("For which system").fill("Gemini ERP (e2e)");
    await page.getByLabel("Address (https)").fill(rx.url);
    await page.getByRole("checkbox", { name: /order\.acknowledged/ }).check();
    await page.getByTestId("create-webhook").click();
    await expect(page.getByTestId("webhook-created")).toContainText("shown this once");
    const secret = (await page.getByTestId("webhook-secret").textContent()) ?? "";
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]{44}$/);
    const card = page.locator("[data-webhook='Gemini ERP (e2e)']");
    await expect(card).not.toContainText(secret);
    await expect(card.getByTestId("webhook-state")).toHaveText("Active");

    // A test event arrives signed with the secret, and shows in the delivery log.
    await card.getByTestId("webhook-test").click();
    await expect.poll(() => rx.got.length, { timeout: 15_000 }).toBeGreaterThan(0);
    const test = rx.got[0];
    expect(JSON.parse(test.body).type).toBe("webhook.test");
    expect(verified(secret, test)).toBe(true);
    expect(verified(secret, { ...test, body: test.body.replace("test", "tset") })).toBe(false);
    await expect(async () => {
      await page.reload();
      await expect(page.locator("[data-webhook='Gemini ERP (e2e)'] [data-testid=webhook-log]")).toContainText("200", { timeout: 1000 });
    }).toPass({ timeout: 15_000 });

    // Paused: it says so; resumed: active again.
    await hydrated(page);
    await page.locator("[data-webhook='Gemini ERP (e2e)']").getByTestId("webhook-pause").click();
    await expect(page.locator("[data-webhook='Gemini ERP (e2e)'] [data-testid=webhook-state]")).toContainText("Paused");
    await page.locator("[data-webhook='Gemini ERP (e2e)']").getByTestId("webhook-resume").click();
    await expect(page.locator("[data-webhook='Gemini ERP (e2e)'] [data-testid=webhook-state]")).toHaveText("Active");
    await signOut(page);

    // Another organisation's admin sees none of it.
    await signIn(page, TOM);
    await page.goto("/webhooks");
    await hydrated(page);
    await expect(page.getByText("Subscribers of Wood Corner")).toBeVisible();
    await expect(page.locator("[data-webhook^='Gemini']")).toHaveCount(0);
    await signOut(page);

    // A buyer is neither an organisation's admin nor an admin: refused, and no link to it.
    // (Members who are not their organisation's admin are refused the same way, in
    // tests/webhooks.rs; the demo's member changes her password in password_reset.spec.ts.)
    await signIn(page, { email: "buyer@millrace.example", password: "buyer-demo-pass" });
    await expect(page.getByRole("link", { name: "Webhooks" })).toHaveCount(0);
    await page.goto("/webhooks");
    await expect(page.getByTestId("webhooks-error")).toBeVisible();
    await expect(page.locator("[data-webhook]")).toHaveCount(0);
    expect(errors).toEqual([]);
  } finally {
    rx.server.close();
  }
});
