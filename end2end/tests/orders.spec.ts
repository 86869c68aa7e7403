import { test, expect, ANA, TOM, DOUBLE_URL, hydrated, signIn, signInWithoutJs, watchErrors, signOut } from "./helpers";

test("an anonymous visitor lands on the sign-in page", async ({ page }) => {
  await page.goto("/orders");
  await expect(page).toHaveURL(/\/login\?next=%2Forders/);
  await expect(page.getByRole("heading", { name: "Sign in to Millrace" })).toBeVisible();
});

test("a wrong password is refused with a message", async ({ page }) => {
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("Email").fill(TOM.email);
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText("the email or password is wrong");
  await expect(page).toHaveURL(/\/login/);
});

test("a supplier sees only its own orders, searches and filters them", async ({ page }) => {
  const errors = watchErrors(page);
  await signIn(page, ANA);
  const rows = page.locator("table.orders tbody tr");
  await expect(rows.first()).toBeVisible();
  // Every order shown belongs to Gemini Furniture; none of Wood Corner's.
  const suppliers = await page.locator("table.orders tbody .sub").allTextContents();
  expect(suppliers.length).toBeGreaterThan(0);
  expect(new Set(suppliers)).toEqual(new Set(["Gemini Furniture"]));

  const first = (await rows.first().getAttribute("data-order"))!;
  await page.getByLabel("Search").fill(first);
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toHaveAttribute("data-order", first);

  await page.goto("/orders?status=cancelled");
  await hydrated(page);
  for (const badge of await page.locator("table.orders tbody .badge").allTextContents()) {
    expect(badge).toBe("Cancelled");
  }
  expect(errors).toEqual([]);
});

test("a supplier acknowledges an order and Odoo shows it with the correlation id", async ({ page }) => {
  await signIn(page, ANA);
  await page.goto("/orders?status=new");
  await hydrated(page);
  const link = page.locator("table.orders tbody tr a").first();
  const name = (await link.textContent())!.trim();
  await link.click();
  await expect(page.getByRole("heading", { name })).toBeVisible();
  await hydrated(page);
  await page.getByTestId("acknowledge").click();
  await expect(page.getByTestId("acknowledged")).toContainText("by Ana Silva");
  await expect(page.locator(".order-head .badge")).toHaveText("Acknowledged");
  const ref = (await page.locator(".history .ref code").first().textContent())!.trim();
  expect(ref).toMatch(/^mr-[0-9a-f]{32}$/);
  // Reaches the double (the worker runs in the background), and the supplier sees that.
  await expect(async () => {
    await page.reload();
    await expect(page.getByTestId("odoo-sync")).toContainText("arrived in the buyer's system");
  }).toPass({ timeout: 20_000 });
  const odoo = await page.request.get(`${DOUBLE_URL}/__double/purchase.order/${name}`);
  const html = await odoo.text();
  expect(html).toContain('<dd id="acknowledged">true</dd>');
  expect(html).toContain(ref);
});

test("a supplier answers lines: bad input gets a message, a proposal outside tolerance waits", async ({ page }) => {
  await signIn(page, ANA);
  await page.goto("/orders?status=new");
  await hydrated(page);
  await page.locator("table.orders tbody tr a").nth(1).click();
  await hydrated(page);
  const line = page.locator("article.line").first();
  await line.getByText("Propose a change or reject").click();
  await line.getByRole("button", { name: "Send answer" }).click();
  await expect(page.getByTestId("answer-error")).toContainText("Propose a new date, a new quantity, or both");
  await line.getByLabel("New quantity").fill("1");
  await line.getByLabel("Reason (the buyer reads it)").fill("only one left in stock");
  await line.getByRole("button", { name: "Send answer" }).click();
  await expect(page.locator("article.line").first().getByTestId("line-answer")).toContainText("Proposal awaiting buyer");
  await expect(page.locator(".order-head .badge")).toHaveText("Changes proposed");
});

test("supplier B cannot open supplier A's order by URL nor act on it", async ({ page, request }) => {
  await signIn(page, ANA);
  const href = (await page.locator("table.orders tbody tr a").first().getAttribute("href"))!;
  await signOut(page);

  await signIn(page, TOM);
  await page.goto(href);
  await expect(page.getByRole("heading", { name: "Order not available" })).toBeVisible();
  await expect(page.getByRole("alert")).toContainText("No such order among yours");
  // Calling the server function directly with A's id, with a valid session and token.
  const token = await page.locator('meta[name="csrf-token"]').getAttribute("content");
  const id = href.split("/").pop()!;
  const r = await page.request.post("/api/orders/acknowledge", {
    form: { order_id: id, csrf_token: token! },
    headers: { Accept: "application/json" },
  });
  expect(r.status()).toBe(404);
});

test("a form post without the CSRF token is refused", async ({ page }) => {
  await signIn(page, ANA);
  const href = (await page.locator("table.orders tbody tr a").first().getAttribute("href"))!;
  const r = await page.request.post("/api/orders/acknowledge", { form: { order_id: href.split("/").pop()! } });
  expect(r.status()).toBe(403);
  expect(await r.text()).toContain("security token");
});

test("pages work before hydration: server-rendered, forms post as plain HTML", async ({ browser }) => {
  const { context, page } = await signInWithoutJs(browser, ANA);
  await expect(page.locator("table.orders tbody tr").first()).toBeVisible();
  await context.close();
});

test("without JavaScript a refused answer and a saved setting both show on the page they come back to", async ({ browser }) => {
  const { context, page } = await signInWithoutJs(browser, ANA);
  await page.goto("/orders?status=new");
  await page.locator("table.orders tbody tr a").nth(1).click();
  const order = page.url();
  const line = page.locator("article.line").first();
  await line.getByText("Propose a change or reject").click();
  await line.getByRole("button", { name: "Send answer" }).click();
  // Back on the same order (at its lines), the refusal in words; nothing was answered.
  await expect(page).toHaveURL((u) => u.pathname === new URL(order).pathname && u.hash === "#lines");
  await expect(page.getByTestId("answer-error")).toContainText("Propose a new date, a new quantity, or both");
  await expect(page.locator("article.line").first().getByTestId("line-answer")).toContainText("Not answered");
  // A success shows its answer once, on the page the post came back to.
  await page.goto("/account");
  await page.getByRole("button", { name: "Save time zone" }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByTestId("zone-status")).toHaveText("Saved.");
  await page.reload();
  await expect(page.getByTestId("zone-status")).toHaveText("");
  await context.close();
});

test("the orders page fits a phone screen", async ({ browser }) => {
  const context = await browser.newContext({ viewport: { width: 375, height: 740 } });
  const page = await context.newPage();
  await signIn(page, ANA);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await page.screenshot({ path: "test-results/orders-phone.png", fullPage: false });
  await context.close();
});

test("a user picks a time zone and the order page shows times in it", async ({ page }) => {
  await signIn(page, TOM);
  await page.getByTestId("viewer").click();
  await expect(page.getByRole("heading", { name: "Your account" })).toBeVisible();
  await hydrated(page);
  await page.getByLabel(/Time zone/).selectOption("Asia/Tokyo");
  await page.getByRole("button", { name: "Save time zone" }).click();
  await expect(page.getByTestId("zone-status")).toHaveText("Saved.");
  await page.goto("/orders");
  await hydrated(page);
  await page.locator("table.orders tbody tr a").first().click();
  await expect(page.locator(".facts dd").nth(2)).toContainText("JST");
});

test("a supplier accepts each line; with every line answered the order is acknowledged", async ({ page }) => {
  await signIn(page, ANA);
  await page.goto("/orders?status=new");
  await hydrated(page);
  await page.locator("table.orders tbody tr a").nth(2).click();
  await hydrated(page);
  await expect(page.getByRole("heading", { name: "Receipts at the buyer's warehouse" })).toBeVisible();
  const lines = page.locator("article.line");
  const count = await lines.count();
  for (let i = 0; i < count; i++) {
    await page.locator("article.line").nth(i).getByTestId("accept-line").click();
    await expect(page.locator("article.line").nth(i).getByTestId("line-answer")).toHaveText("Accepted");
  }
  await expect(page.locator(".order-head .badge")).toHaveText("Acknowledged");
  await expect(page.getByTestId("acknowledged")).toContainText("by Ana Silva");
});
