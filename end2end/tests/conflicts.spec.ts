import { test, expect, ANA, DOUBLE_URL, hydrated, signIn, signOut } from "./helpers";

const BUYER = { email: "buyer@millrace.example", password: "buyer-demo-pass" };

test("a buyer sees a conflict side by side, applies the supplier's date over Odoo's change, and keeps the answers", async ({ page }) => {
  const faults = (body: object) => page.request.post(`${DOUBLE_URL}/__double/faults`, { data: body });
  await signIn(page, ANA);
  await page.goto("/orders?status=new");
  await hydrated(page);
  // An order other tests leave alone.
  const link = page.locator("table.orders tbody tr a").nth(6);
  const name = (await link.textContent())!.trim();
  await link.click();
  await hydrated(page);
  const line = page.locator("article.line").first();
  const requested = (await line.locator("dt", { hasText: "Requested" }).locator("xpath=following-sibling::dd").textContent())!.trim();
  const next = new Date(`${requested}T00:00:00Z`);
  next.setUTCDate(next.getUTCDate() + 1);
  const inside = next.toISOString().slice(0, 10);

  // Odoo is unreachable while the supplier moves the date (within tolerance, so it goes to
  // Odoo) and the buyer changes the line's quantity in Odoo.
  await faults({ down: true });
  try {
    await line.getByText("Propose a change or reject").click();
    await line.getByLabel("New date", { exact: true }).fill(inside);
    await line.getByLabel("Reason (the buyer reads it)").fill("line changeover");
    await line.getByRole("button", { name: "Send answer" }).click();
    await expect(page.locator("article.line").first().getByTestId("line-answer")).toContainText("Proposal accepted");
    const edited = await page.request.post(`${DOUBLE_URL}/__double/purchase.order/${name}/lines/0`, { data: { product_qty: 77 } });
    expect(edited.ok()).toBeTruthy();
  } finally {
    await faults({});
  }
  await signOut(page);

  await signIn(page, BUYER);
  await page.goto("/buyer/exceptions");
  const conflicts = page.locator(`article[data-conflict='${name}']`);
  const writeBack = conflicts.filter({ has: page.getByTestId("apply-supplier") });
  await expect(async () => {
    await page.reload();
    await expect(writeBack).toHaveCount(1);
    await expect(conflicts).toHaveCount(2);
  }).toPass({ timeout: 30_000 });
  await hydrated(page);
  // Both versions of the line, side by side.
  await expect(writeBack.getByTestId("supplier-version")).toContainText(inside);
  await expect(writeBack.getByTestId("odoo-version")).toContainText("77 ");
  const changed = conflicts.filter({ has: page.getByTestId("keep-answers") });
  await expect(changed).toContainText("quantity");
  await expect(changed.getByTestId("odoo-version")).toContainText("77 ");

  const orderPage = (await writeBack.locator("h3 a").getAttribute("href"))!;
  await writeBack.getByTestId("apply-supplier").click();
  await expect(writeBack).toHaveCount(0);
  await expect(async () => {
    const html = await (await page.request.get(`${DOUBLE_URL}/__double/purchase.order/${name}`)).text();
    expect(html).toContain(inside);
  }).toPass({ timeout: 20_000 });

  await changed.getByTestId("keep-answers").click();
  await expect(conflicts).toHaveCount(0);

  // The order's history tells both decisions.
  await page.goto(orderPage);
  await expect(page.locator(".history")).toContainText("applied the supplier's answer");
  await expect(page.locator(".history")).toContainText("kept the supplier's answers");
  // One thread of the timeline at a time, as plain links.
  await expect(page.locator(".history li[data-group=delivery]").first()).toBeVisible();
  await page.getByTestId("history-filter").getByRole("link", { name: /^Buyer's decisions 2$/ }).click();
  await expect(page).toHaveURL(/show=buyer/);
  await expect(page.locator(".history li")).toHaveCount(2);
  await expect(page.locator(".history li[data-group=buyer]")).toHaveCount(2);
  await page.getByTestId("history-filter").getByRole("link", { name: /^Everything/ }).click();
  await expect(page.locator(".history li[data-group=delivery]").first()).toBeVisible();
});

test("a supplier cannot resolve a conflict, even with a valid CSRF token", async ({ page }) => {
  await signIn(page, ANA);
  const token = await page.locator('meta[name="csrf-token"]').getAttribute("content");
  const r = await page.request.post("/api/buyer/resolve-conflict", {
    form: { csrf_token: token!, key: "order:1", resolution: "keep_answers" },
    headers: { Accept: "application/json" },
  });
  expect(r.status()).toBe(403);
  expect((await page.goto("/buyer/exceptions"))?.status()).toBe(403);
});
