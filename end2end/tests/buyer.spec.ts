import { test, expect, ANA, DOUBLE_URL, hydrated, signIn, signOut } from "./helpers";

const BUYER = { email: "buyer@millrace.example", password: "buyer-demo-pass" };

test("a buyer approves a proposal and the Odoo double shows the new date", async ({ page }) => {
  // The supplier proposes a date far outside tolerance.
  await signIn(page, ANA);
  await page.goto("/orders?status=new");
  await hydrated(page);
  const link = page.locator("table.orders tbody tr a").nth(3);
  const name = (await link.textContent())!.trim();
  await link.click();
  await hydrated(page);
  const line = page.locator("article.line").first();
  await line.getByText("Propose a change or reject").click();
  await line.getByLabel("New date", { exact: true }).fill("2027-06-30");
  await line.getByLabel("Reason (the buyer reads it)").fill("furnace rebuild");
  await line.getByRole("button", { name: "Send answer" }).click();
  await expect(page.locator("article.line").first().getByTestId("line-answer")).toContainText("Proposal awaiting buyer");
  await signOut(page);

  await signIn(page, BUYER);
  await page.getByRole("link", { name: "Exceptions" }).click();
  await expect(page.getByRole("heading", { name: "Exceptions" })).toBeVisible();
  await hydrated(page);
  const proposal = page.locator("article[data-proposal]", { hasText: name }).first();
  await expect(proposal).toContainText("furnace rebuild");
  await proposal.getByTestId("approve").click();
  await expect(page.locator("article[data-proposal]", { hasText: name })).toHaveCount(0);

  await expect(async () => {
    const html = await (await page.request.get(`${DOUBLE_URL}/__double/purchase.order/${name}`)).text();
    expect(html).toContain("2027-06-30");
  }).toPass({ timeout: 20_000 });

  // The screen exports as CSV.
  const csv = await page.request.get((await page.getByTestId("csv").getAttribute("href"))!);
  expect(csv.headers()["content-type"]).toContain("text/csv");
  expect(await csv.text()).toMatch(/^category,order,supplier,detail,since\r\n/);
});

test("a supplier cannot reach the buyer's pages or their server functions", async ({ page }) => {
  await signIn(page, ANA);
  await expect(page.getByRole("link", { name: "Exceptions" })).toHaveCount(0);
  const res = await page.goto("/buyer/exceptions");
  expect(res!.status()).toBe(403);
  await expect(page.getByText("This page is for the buyer's staff only")).toBeVisible();
  const api = await page.request.get("/api/buyer/exceptions?supplier=&buyer=", { headers: { Accept: "application/json" } });
  expect(api.status()).toBe(403);
  const admin = await page.goto("/admin/suppliers");
  expect(admin!.status()).toBe(403);
});

test("a write Odoo refused is dead-lettered, and the buyer sends it again once Odoo accepts writes", async ({ page }) => {
  const faults = (body: object) => page.request.post(`${DOUBLE_URL}/__double/faults`, { data: body });
  await faults({ refuse_writes: true });
  try {
    await signIn(page, ANA);
    await page.goto("/orders?status=new");
    await hydrated(page);
    const link = page.locator("table.orders tbody tr a").first();
    const name = (await link.textContent())!.trim();
    await link.click();
    await hydrated(page);
    await page.getByTestId("acknowledge").click();
    await expect(async () => {
      await page.reload();
      await expect(page.getByTestId("odoo-sync")).toContainText("could not be applied");
    }).toPass({ timeout: 20_000 });
    await signOut(page);

    await signIn(page, BUYER);
    await page.goto("/buyer/exceptions");
    await hydrated(page);
    const problem = page.locator("article[data-dead]", { hasText: name }).first();
    await expect(problem).toContainText("odoo refused");
    await faults({});
    await problem.getByTestId("replay").click();
    await expect(page.locator("article[data-dead]", { hasText: name })).toHaveCount(0);
    await expect(async () => {
      const html = await (await page.request.get(`${DOUBLE_URL}/__double/purchase.order/${name}`)).text();
      expect(html).toContain('<dd id="acknowledged">true</dd>');
    }).toPass({ timeout: 20_000 });
  } finally {
    await faults({});
  }
});

test("a buyer ticks two proposals and approves them together", async ({ page }) => {
  await signIn(page, ANA);
  await page.goto("/orders?status=new");
  await hydrated(page);
  // The last new order on the page with at least two lines (earlier tests use the first ones).
  const rows = page.locator("table.orders tbody tr").filter({ has: page.locator('td[data-label="Lines"]', { hasText: /^[2-9]$/ }) });
  await rows.last().locator("a").first().click();
  await hydrated(page);
  const name = (await page.locator(".order-head h1").textContent())!.trim();
  for (const i of [0, 1]) {
    const line = page.locator("article.line").nth(i);
    await line.getByText("Propose a change or reject").click();
    await line.getByLabel("New quantity").fill("1");
    await line.getByLabel("Reason (the buyer reads it)").fill("allocation");
    await line.getByRole("button", { name: "Send answer" }).click();
    await expect(page.locator("article.line").nth(i).getByTestId("line-answer")).toContainText("Proposal awaiting buyer");
  }
  await signOut(page);

  await signIn(page, BUYER);
  await page.goto("/buyer/exceptions");
  await hydrated(page);
  const mine = page.locator("article[data-proposal]", { hasText: name });
  await expect(mine).toHaveCount(2);
  await mine.nth(0).getByTestId("tick").check();
  await mine.nth(1).getByTestId("tick").check();
  await page.getByTestId("bulk-approve").click();
  await expect(page.getByTestId("bulk-result")).toHaveText("2 proposal(s) approved.");
  await expect(page.locator("article[data-proposal]", { hasText: name })).toHaveCount(0);
});
