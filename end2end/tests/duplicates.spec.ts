import { test, expect } from "@playwright/test";
import { ANA, DOUBLE_URL, hydrated, signIn, watchErrors } from "./helpers";

test("a double click on Acknowledge acknowledges once and Odoo gets one note", async ({ page }) => {
  const errors = watchErrors(page);
  await signIn(page, ANA);
  await page.goto("/orders?status=new");
  await hydrated(page);
  // The last new order of the page: other specs acknowledge the first ones.
  const link = page.locator("table.orders tbody tr a").last();
  const name = (await link.textContent())!.trim();
  await link.click();
  await expect(page.getByRole("heading", { name })).toBeVisible();
  await hydrated(page);
  await page.getByTestId("acknowledge").dblclick();
  await expect(page.getByTestId("acknowledged")).toContainText("by Ana Silva");
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId("odoo-sync")).toHaveText("All 1 update(s) arrived in the buyer's system.");
  }).toPass({ timeout: 20_000 });
  await expect(page.locator(".history li", { hasText: "acknowledged the order" })).toHaveCount(1);
  const html = await (await page.request.get(`${DOUBLE_URL}/__double/purchase.order/${name}`)).text();
  expect(html.split("Acknowledged by").length - 1).toBe(1);
  expect(errors).toEqual([]);
});
