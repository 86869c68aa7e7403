import { test, expect } from "@playwright/test";
import { ANA, hydrated, signIn, watchErrors } from "./helpers";

test("a supplier of two companies downloads an order's PDF, filters by plant, and is told to split a notice", async ({ page }) => {
  const errors = watchErrors(page);
  await signIn(page, ANA);

  // The order page shows who buys, where to ship and on what terms, and downloads as a PDF.
  await page.getByLabel("Search").fill("P00007");
  await page.getByRole("button", { name: "Apply" }).click();
  await page.getByRole("link", { name: "P00007", exact: true }).click();
  await hydrated(page);
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
