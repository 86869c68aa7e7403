import { test, expect, ANA, DOUBLE_URL, hydrated, signIn, signOut } from "./helpers";

const BUYER = { email: "buyer@millrace.example", password: "buyer-demo-pass" };

test("a receipt that differs from the shipment notice shows on the supplier's order and among the buyer's exceptions", async ({ page }) => {
  await signIn(page, ANA);
  await page.goto("/shipments/new");
  await hydrated(page);
  const order = page.locator("label.check").last();
  const orderName = (await order.textContent())!.trim().split(" ")[0];
  await order.locator("input").check();
  await page.getByRole("button", { name: "Continue" }).click();
  await hydrated(page);
  const today = new Date().toISOString().slice(0, 10);
  await page.getByLabel("Ship date").fill(today);
  await page.getByLabel("Expected arrival").fill(today);
  await page.getByLabel("Carrier").fill("UPS");
  await page.getByLabel("Tracking number").fill("1Z0000000000000001");
  const line = page.locator(".ship-line").filter({ hasNot: page.locator("textarea") }).first();
  await line.getByLabel(/Quantity shipped/).fill("1");
  await page.getByTestId("submit-asn").click();
  await expect(page).toHaveURL(/\/shipments\?created=ASN-/);
  const number = (await page.getByTestId("created").textContent())!.match(/ASN-\d+/)![0];
  await expect(async () => {
    const html = await (await page.request.get(`${DOUBLE_URL}/__double/purchase.order/${orderName}`)).text();
    expect(html).toContain("announced " + number);
  }).toPass({ timeout: 20_000 });

  // The warehouse counts one fewer than announced and validates the receipt.
  const r = await page.request.post(`${DOUBLE_URL}/__double/purchase.order/${orderName}/receive`, { data: { short: 1 } });
  expect(r.ok()).toBeTruthy();

  await page.locator(`article[data-asn="${number}"]`).getByRole("link", { name: orderName }).click();
  await expect(async () => {
    await page.reload();
    await expect(page.getByRole("heading", { name: "Received against the shipment notices" })).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 30_000 });
  await expect(page.locator("li[data-discrepancy=short]")).toContainText("short: 1 announced, 0 received");
  await expect(page.locator("ol.history")).toContainText("received against the shipment notices");
  await signOut(page);

  await signIn(page, BUYER);
  await page.goto("/buyer/exceptions");
  await expect(page.getByTestId("count-received")).not.toHaveText("0");
  await expect(page.locator(`tr[data-discrepancy=short]`, { hasText: orderName })).toContainText("1 announced, 0 received");
});
