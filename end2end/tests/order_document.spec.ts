import type { Page } from "@playwright/test";
import { ANA, expect, hydrated, signIn, test, watchErrors } from "./helpers";

const ADMIN = { email: "admin@millrace.example", password: "admin-demo-pass" };
const BUYER = { email: "buyer@millrace.example", password: "buyer-demo-pass" };

/** Finds an order in the inbox by its number and opens it. */
async function openOrder(page: Page, name: string) {
  await page.getByLabel("Search").fill(name);
  await page.getByRole("button", { name: "Apply" }).click();
  await page.getByRole("link", { name, exact: true }).click();
  await hydrated(page);
}

test("a supplier of two companies downloads an order's PDF, filters by plant, and is told to split a notice", async ({ page }) => {
  const errors = watchErrors(page);
  await signIn(page, ANA);

  // The order page shows who buys, where to ship and on what terms, and downloads as a PDF.
  await openOrder(page, "P00007");
  await expect(page.getByTestId("ordered-by")).toContainText("My Company (San Francisco)");
  await expect(page.getByTestId("ship-to")).toContainText("Drop-ship to");
  await expect(page.getByTestId("ship-to")).toContainText("Deco Addict");
  await expect(page.getByTestId("payment-terms")).toContainText("30 Days");
  const download = page.waitForEvent("download");
  await page.getByTestId("order-pdf").click();
  const pdf = await download;
  expect(pdf.suggestedFilename()).toBe("P00007.pdf");
  const bytes = await (await pdf.createReadStream()).toArray();
  expect(Buffer.concat(bytes).subarray(0, 5).toString()).toBe("%PDF-");

  // The inbox filters by ship-to plant: the second company's warehouse.
  await page.goto("/orders");
  await hydrated(page);
  await page.getByLabel("Ship to").selectOption({ label: "My Company (Chicago)" });
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page).toHaveURL(/plant=warehouse%3A2/);
  const rows = page.locator("tr[data-order]");
  await expect(rows).toHaveCount(4);
  await expect(rows.first().getByTestId("order-company")).toContainText("My Company (Chicago)");

  // A notice mixing the two companies' warehouses: the form says why and offers to split.
  await page.goto("/shipments/new");
  await hydrated(page);
  await page.locator("label.check", { hasText: "P00207" }).locator("input").check();
  await page.locator("label.check", { hasText: "P00199" }).locator("input").check();
  await page.getByRole("button", { name: "Continue" }).click();
  await hydrated(page);
  const split = page.getByTestId("split-notice");
  await expect(split).toContainText("2 different destinations");
  const today = new Date().toISOString().slice(0, 10);
  await page.getByLabel("Ship date").fill(today);
  await page.getByLabel("Expected arrival").fill(today);
  await page.getByLabel("Carrier").fill("DHL");
  await page.getByLabel("Tracking number").fill("JD0146000099999");
  for (const line of await page.locator(".ship-line").filter({ hasNot: page.locator("textarea") }).all()) {
    await line.getByLabel(/Quantity shipped/).fill("1");
  }
  await page.getByTestId("submit-asn").click();
  await expect(page.getByTestId("asn-error")).toContainText("a shipment notice goes to one destination");
  await split.getByTestId("split-link").filter({ hasText: "P00207" }).click();
  await hydrated(page);
  await expect(page.getByTestId("split-notice")).toHaveCount(0);
  await expect(page.locator(".ship-line")).not.toHaveCount(0);
  expect(errors).toEqual([]);
});

test("an admin limits a buyer to one company, and the buyer sees only that company's orders", async ({ browser }) => {
  const admin = await (await browser.newContext()).newPage();
  const errors = watchErrors(admin);
  await signIn(admin, ADMIN);
  await admin.goto("/admin/staff");
  await hydrated(admin);
  const row = admin.locator("tr[data-user='buyer@millrace.example']");
  await expect(row.getByTestId("user-companies")).toHaveText("All companies");
  // Admins are never limited: no form on their row.
  await expect(admin.locator("tr[data-user='admin@millrace.example']").getByTestId("save-companies")).toHaveCount(0);
  await row.getByLabel("My Company (Chicago)").check();
  await row.getByTestId("save-companies").click();
  await expect(admin.getByTestId("companies-result")).toContainText("now sees My Company (Chicago)");
  await expect(row.getByTestId("user-companies")).toHaveText("My Company (Chicago)");
  try {
    const buyer = await (await browser.newContext()).newPage();
    errors.push(...watchErrors(buyer));
    await signIn(buyer, BUYER);
    const companies = buyer.locator("tr[data-order] [data-testid=order-company]");
    await expect(companies.first()).toContainText("My Company (Chicago)");
    await expect(companies.filter({ hasNotText: "My Company (Chicago)" })).toHaveCount(0);
    // A San Francisco order is not there, not even by searching for it.
    await buyer.goto("/orders?q=P00031");
    await hydrated(buyer);
    await expect(buyer.locator("tr[data-order]")).toHaveCount(0);
  } finally {
    // Back to every company, for the specs that follow.
    await admin.goto("/admin/staff");
    await hydrated(admin);
    await row.getByLabel("My Company (Chicago)").uncheck();
    await row.getByTestId("save-companies").click();
    await expect(admin.getByTestId("companies-result")).toContainText("now sees every company");
  }
  await expect(row.getByTestId("user-companies")).toHaveText("All companies");
  expect(errors).toEqual([]);
});

test("a supplier sets its reference on the order page; a double click sets it once, and a buyer cannot set it", async ({ page, browser }) => {
  const errors = watchErrors(page);
  await signIn(page, ANA);
  await openOrder(page, "P00013");
  const orderUrl = page.url();

  // Too long: the page says why and keeps the old value.
  // (The field stops typing at 64; a pasted or scripted value is checked by the server.)
  await page.getByTestId("reference-input").evaluate((e) => e.removeAttribute("maxlength"));
  await page.getByTestId("reference-input").fill("X".repeat(70));
  await page.getByTestId("reference-save").click();
  await expect(page.getByRole("alert").filter({ hasText: "at most 64" }).first()).toBeVisible();
  await expect(page.getByTestId("reference-value")).toHaveText("Not set");

  // A double click on the form sends it twice: the reference is set once, no error shown.
  await page.goto(orderUrl);
  await hydrated(page);
  await page.getByTestId("reference-input").fill("GF-E2E-1");
  await page.getByTestId("reference-save").dblclick();
  await expect(page.getByTestId("reference-value")).toHaveText("GF-E2E-1");
  await expect(page.getByTestId("reference-error")).toHaveText("");
  await expect(page.getByTestId("reference-done")).toContainText("is now GF-E2E-1");
  await expect(page.locator("ol.history li", { hasText: "set its reference to GF-E2E-1" })).toHaveCount(1);

  // Saved again unchanged (a new form): nothing happens twice, and the page says it is set.
  await page.getByTestId("reference-save").click();
  await expect(page.getByTestId("reference-done")).toHaveText("Your reference on P00013 is GF-E2E-1 already.");
  await expect(page.getByTestId("reference-error")).toHaveText("");
  await expect(page.locator("ol.history li", { hasText: "set its reference to GF-E2E-1" })).toHaveCount(1);

  // The buyer sees the supplier's reference and has no form to change it.
  const context = await browser.newContext();
  const buyer = await context.newPage();
  await signIn(buyer, BUYER);
  await buyer.goto(orderUrl);
  await hydrated(buyer);
  await expect(buyer.getByTestId("reference-value")).toHaveText("GF-E2E-1");
  await expect(buyer.getByTestId("reference-save")).toHaveCount(0);
  await context.close();
  expect(errors).toEqual([]);
});
