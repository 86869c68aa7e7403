import { test, expect, ANA, DOUBLE_URL, hydrated, signIn, signOut } from "./helpers";

const ADMIN = { email: "admin@millrace.example", password: "admin-demo-pass" };
const BUYER = { email: "buyer@millrace.example", password: "buyer-demo-pass" };
const ENV_KEY = "double-api-key-0b9d3c";

test("an admin rotates the Odoo API key on the page; a supplier's acknowledgment still reaches Odoo", async ({ page }) => {
  await signIn(page, ADMIN);
  await page.getByRole("link", { name: "Odoo", exact: true }).click();
  await expect(page).toHaveURL(/\/admin\/odoo$/);
  await expect(page.getByTestId("connection-source")).toContainText("MILLRACE_ODOO_*");
  await expect(page.getByTestId("connection-state")).toContainText("This instance is connected: Odoo 19");
  await hydrated(page);
  // The key in use is never shown back, not even in the page's source.
  await expect(page.getByLabel("API key")).toHaveValue("");
  expect(await page.content()).not.toContain(ENV_KEY);

  // A wrong key: Odoo's refusal in words an admin can act on; nothing changes.
  await page.getByLabel("API key").fill("not-the-key");
  await page.getByRole("button", { name: "Test connection" }).click();
  await expect(page.getByTestId("check-outcome")).toContainText("Odoo refused login 'admin' with this API key");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("check-outcome")).toContainText("Not saved");
  await expect(page.getByTestId("connection-source")).toContainText("MILLRACE_ODOO_*");

  // In Odoo, the user makes a second key; it is tested, saved, and the first one revoked.
  const added = await page.request.post(`${DOUBLE_URL}/__double/api-keys`, { data: { login: "admin", add: "e2e-rotated-key" } });
  expect(added.ok()).toBeTruthy();
  await page.getByLabel("API key").fill("e2e-rotated-key");
  await page.getByRole("button", { name: "Test connection" }).click();
  await expect(page.getByTestId("check-outcome")).toContainText("Odoo accepted these settings; nothing was saved yet.");
  await expect(page.getByTestId("check-outcome")).toContainText("server: Odoo 19");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("check-outcome")).toContainText("Saved as revision 1");
  await expect(page.getByTestId("connection-source")).toContainText("Saved on this page by admin@millrace.example");
  await expect(page.getByTestId("connection-state")).toContainText("This instance is connected");
  const revoked = await page.request.post(`${DOUBLE_URL}/__double/api-keys`, { data: { login: "admin", revoke: ENV_KEY } });
  expect(revoked.ok()).toBeTruthy();
  expect(await page.content()).not.toContain("e2e-rotated-key");

  // The audit log names the change and never the key.
  await page.goto("/admin/audit?action=odoo_connection");
  await expect(page.locator("tr[data-audit=odoo_connection_saved]").first()).toContainText("API key replaced");
  expect(await page.content()).not.toContain("e2e-rotated-key");
  await signOut(page);

  // Deliveries go on with the new key.
  await signIn(page, ANA);
  await page.goto("/orders?status=new");
  await hydrated(page);
  const link = page.locator("table.orders tbody tr a").first();
  const name = (await link.textContent())!.trim();
  await link.click();
  await hydrated(page);
  await page.getByTestId("acknowledge").click();
  await expect(page.getByTestId("acknowledged")).toContainText("by Ana Silva");
  await expect(async () => {
    const html = await (await page.request.get(`${DOUBLE_URL}/__double/purchase.order/${name}`)).text();
    expect(html).toContain('<dd id="acknowledged">true</dd>');
  }).toPass({ timeout: 20_000 });
});

test("only admins reach the Odoo connection, on the page and through its functions", async ({ page }) => {
  for (const who of [BUYER, ANA]) {
    await signIn(page, who);
    const token = await page.locator('meta[name="csrf-token"]').getAttribute("content");
    await expect(page.getByRole("link", { name: "Odoo", exact: true })).toHaveCount(0);
    const r = await page.goto("/admin/odoo");
    expect(r?.status()).toBe(403);
    expect((await page.request.get("/api/admin/odoo")).status()).toBe(403);
    // With a valid CSRF token too: the role is checked, not only the token.
    const apply = await page.request.post("/api/admin/odoo/apply", {
      form: { csrf_token: token!, url: "https://evil.example", database: "x", login: "x", api_key: "", intent: "test" },
      headers: { Accept: "application/json" },
    });
    expect(apply.status()).toBe(403);
    await page.goto("/orders");
    await hydrated(page);
    await signOut(page);
  }
});
