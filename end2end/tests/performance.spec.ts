import { test, expect, hydrated, signIn, signOut, TOM } from "./helpers";

const BUYER = { email: "buyer@millrace.example", password: "buyer-demo-pass" };

test("a buyer compares suppliers' performance with a chart; a supplier sees only its own", async ({ page }) => {
  await signIn(page, BUYER);
  await page.getByRole("link", { name: "Performance" }).click();
  await expect(page.getByRole("heading", { name: "Supplier performance" })).toBeVisible();
  await expect(page.locator("tr[data-score='Gemini Furniture']")).toBeVisible();
  await expect(page.locator("tr[data-score='Wood Corner']")).toBeVisible();
  const chart = page.getByTestId("month-chart");
  await expect(chart).toBeVisible();
  await expect(chart).toHaveAttribute("aria-label", /on time/);

  // One supplier, chosen in the filter.
  await hydrated(page);
  await page.getByLabel("Supplier").selectOption({ label: "Wood Corner" });
  await page.getByRole("button", { name: "Show" }).click();
  await expect(page).toHaveURL(/supplier=\d+/);
  await expect(page.locator("tr[data-score]")).toHaveCount(1);
  await expect(page.locator("tr[data-score='Wood Corner']")).toBeVisible();
  // A period that ends before it starts gets a message.
  await page.goto("/performance?from=2026-12-31&to=2026-01-01");
  await expect(page.getByRole("alert")).toContainText("starts after it ends");
  await page.goto("/performance");
  await hydrated(page);
  await signOut(page);

  await signIn(page, TOM);
  await page.goto("/performance?supplier=1");
  await expect(page.locator("tr[data-score]")).toHaveCount(1);
  await expect(page.locator("tr[data-score='Wood Corner']")).toBeVisible();
  await expect(page.getByLabel("Supplier")).toHaveCount(0);
});
