import { test, expect, ANA, TOM, DOUBLE_URL, hydrated, signIn, signOut } from "./helpers";

test("a supplier announces a shipment: errors are named, the notice is listed, Odoo's receipt is prefilled", async ({ page }) => {
  await signIn(page, ANA);
  await page.getByRole("link", { name: "Shipments" }).click();
  await expect(page.getByRole("heading", { name: "Shipment notices" })).toBeVisible();
  await page.getByRole("link", { name: "Announce a shipment" }).click();
  await hydrated(page);
  const firstOrder = page.locator("label.check").first();
  const orderName = (await firstOrder.textContent())!.trim().split(" ")[0];
  await firstOrder.locator("input").check();
  await page.getByRole("button", { name: "Continue" }).click();
  await expect(page.getByRole("heading", { name: "Announce a shipment" })).toBeVisible();
  await hydrated(page);

  const today = new Date().toISOString().slice(0, 10);
  await page.getByLabel("Ship date").fill(today);
  await page.getByLabel("Expected arrival").fill(today);
  await page.getByLabel("Carrier").fill("DHL");
  await page.getByLabel("Tracking number").fill("JD0146000012345");
  // Nothing to ship yet: the form says what to fix and nothing is saved.
  await page.getByTestId("submit-asn").click();
  await expect(page.getByTestId("asn-error")).toContainText("enter a shipped quantity on at least one line");

  const line = page.locator(".ship-line").filter({ hasNot: page.locator("textarea") }).first();
  await line.getByLabel(/Quantity shipped/).fill("1");
  await page.getByTestId("submit-asn").click();
  await expect(page).toHaveURL(/\/shipments\?created=ASN-/);
  const created = page.getByTestId("created");
  await expect(created).toContainText("sent");
  const number = (await created.textContent())!.match(/ASN-\d+/)![0];
  const card = page.locator(`article[data-asn="${number}"]`);
  await expect(card).toContainText(orderName);
  await expect(card).toContainText("DHL JD0146000012345");

  // The order now shows as (partially) shipped, and the buyer's receipt carries the tracking number.
  await card.getByRole("link", { name: orderName }).click();
  await expect(page.locator(".order-head .badge")).toHaveText(/shipped/i);
  await expect(async () => {
    const html = await (await page.request.get(`${DOUBLE_URL}/__double/purchase.order/${orderName}`)).text();
    expect(html).toContain("announced " + number);
  }).toPass({ timeout: 20_000 });
});

test("a supplier attaches a certificate of conformance; a file that is not a document is refused", async ({ page }) => {
  await signIn(page, ANA);
  await page.goto("/shipments");
  await hydrated(page);
  const card = page.locator("article[data-asn]").filter({ has: page.getByTestId("upload") }).first();
  const number = (await card.getAttribute("data-asn"))!;
  await card.getByLabel(/Attach a document/).setInputFiles({ name: "notes.pdf", mimeType: "application/pdf", buffer: Buffer.from("MZ this is not a pdf") });
  await card.getByTestId("upload").click();
  await expect(page.getByTestId("upload-error")).toContainText("is not a PDF, PNG or JPEG file");
  const again = page.locator(`article[data-asn="${number}"]`);
  await again.getByLabel(/Attach a document/).setInputFiles({ name: "coc.pdf", mimeType: "application/pdf", buffer: Buffer.from("%PDF-1.4\n% certificate of conformance\n") });
  await again.getByTestId("upload").click();
  await expect(page.getByTestId("uploaded")).toContainText(`coc.pdf attached to ${number}`);
  await expect(page.locator(`article[data-asn="${number}"] .documents a`)).toHaveText("coc.pdf");
});

test("another supplier does not see the notice and cannot cancel it", async ({ page }) => {
  await signIn(page, ANA);
  await page.goto("/shipments");
  await hydrated(page);
  const first = page.locator("article[data-asn]").first();
  await expect(first).toBeVisible();
  const number = await first.getAttribute("data-asn");
  await signOut(page);
  await signIn(page, TOM);
  await page.goto("/shipments");
  await hydrated(page);
  await expect(page.locator(`article[data-asn="${number}"]`)).toHaveCount(0);
  const token = await page.locator('meta[name="csrf-token"]').getAttribute("content");
  const r = await page.request.post("/api/shipments/cancel", { form: { id: number!.replace("ASN-", "").replace(/^0+/, ""), csrf_token: token! }, headers: { Accept: "application/json" } });
  expect(r.status()).toBe(404);
});

test("a supplier cancels its own notice before it is received", async ({ page }) => {
  await signIn(page, ANA);
  await page.goto("/shipments");
  await hydrated(page);
  const card = page.locator("article[data-asn]").filter({ has: page.getByTestId("cancel-asn") }).first();
  const number = await card.getAttribute("data-asn");
  await card.getByTestId("cancel-asn").click();
  await expect(page.locator(`article[data-asn="${number}"] .badge`)).toHaveText("cancelled");
});

test("serial-tracked lines need one serial number per unit", async ({ page }) => {
  await signIn(page, ANA);
  await page.goto("/shipments/new");
  await hydrated(page);
  // Every order with open lines, so that a serial-tracked line is among them.
  for (const box of await page.locator("label.check input").all()) await box.check();
  await page.getByRole("button", { name: "Continue" }).click();
  await hydrated(page);
  const serialLine = page.locator(".ship-line").filter({ has: page.getByLabel(/Serial numbers/) }).first();
  await expect(serialLine).toBeVisible();
  const today = new Date().toISOString().slice(0, 10);
  await page.getByLabel("Ship date").fill(today);
  await page.getByLabel("Expected arrival").fill(today);
  await page.getByLabel("Carrier").fill("UPS");
  await page.getByLabel("Tracking number").fill("1Z12345");
  await serialLine.getByLabel(/Quantity shipped/).fill("2");
  await serialLine.getByLabel(/Serial numbers/).fill("SN-001");
  await page.getByTestId("submit-asn").click();
  await expect(page.getByTestId("asn-error")).toContainText("give 2 serial number(s), one per unit, not 1");
  await serialLine.getByLabel(/Serial numbers/).fill("SN-001\nSN-002");
  await page.getByTestId("submit-asn").click();
  await expect(page).toHaveURL(/\/shipments\?created=ASN-/);
  await expect(page.locator("article[data-asn]").first()).toContainText("SN-001, SN-002");
});
