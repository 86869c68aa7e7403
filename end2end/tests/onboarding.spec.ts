import { test, expect, hydrated, signIn, signOut, TOM } from "./helpers";

const ADMIN = { email: "admin@millrace.example", password: "admin-demo-pass" };
const BUYER = { email: "buyer@millrace.example", password: "buyer-demo-pass" };
const ANA = { email: "ana@gemini.example", password: "gemini-demo-pass" };

test("an admin onboards a supplier; the invited user sets a password and sees only its organisation's orders", async ({ page }) => {
  await signIn(page, ADMIN);
  await page.getByRole("link", { name: "Suppliers" }).click();
  await expect(page).toHaveURL(/\/admin\/suppliers/);
  await hydrated(page);
  await page.getByLabel("Vendor name in Odoo").fill("Azure");
  await page.getByRole("button", { name: "Search Odoo" }).click();
  const vendor = page.locator("[data-vendor='Azure Interior']");
  await expect(vendor).toBeVisible();
  await vendor.getByRole("button", { name: "Link as supplier" }).click();
  await expect(page).toHaveURL(/\/admin\/suppliers\/\d+$/);
  await expect(page.getByRole("heading", { name: "Azure Interior" })).toBeVisible();
  await hydrated(page);

  // A clear message for a bad address; then the invitation.
  await page.getByLabel("Name").fill("Zoe Martin");
  await page.getByLabel("Email").fill("zoe@azure");
  await page.getByLabel("Role").selectOption("supplier_admin");
  await page.getByRole("button", { name: "Send invitation" }).click();
  await expect(page.getByTestId("invite-status")).toContainText("Give the person's email address");
  await page.getByLabel("Email").fill("zoe@azure.example");
  await page.getByRole("button", { name: "Send invitation" }).click();
  await expect(page.getByTestId("invite-status")).toContainText("Invitation sent to zoe@azure.example");
  await expect(page.locator("[data-user='zoe@azure.example'] [data-testid=user-status]")).toHaveText("Invited");
  await signOut(page);

  // The mailbox (the demo's stand-in for email) has the link; it sets the password.
  await page.goto("/dev/mailbox");
  await page.locator("article", { hasText: "zoe@azure.example" }).first().locator("a").click();
  await hydrated(page);
  await page.getByLabel("New password (at least 10 characters)").fill("zoe-chose-this-one");
  await page.getByLabel("The same again").fill("zoe-chose-this-one");
  await page.getByRole("button", { name: "Set password" }).click();
  await expect(page).toHaveURL(/\/login/);
  await signIn(page, { email: "zoe@azure.example", password: "zoe-chose-this-one" });

  // Azure's orders only (the demo gives Azure Interior every sixth order from P00004).
  await expect(page.locator("tr[data-order]").first()).toBeVisible();
  const names = await page.locator("tr[data-order]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-order")!));
  expect(names.length).toBeGreaterThan(0);
  for (const name of names) {
    expect((Number(name.slice(1)) - 4) % 6, `${name} is Azure's`).toBe(0);
  }
  // A Gemini order is not found by its number, and the admin pages are closed.
  await page.getByLabel("Search").fill("P00007");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.getByText("No orders match.")).toBeVisible();
  const admin = await page.goto("/admin/suppliers");
  expect(admin?.status()).toBe(403);
  // As a supplier admin, Zoe has a team page with herself on it.
  await page.goto("/team");
  await expect(page.locator("[data-user='zoe@azure.example']")).toBeVisible();
});

test("a deactivated user's open session stops working at once, and reactivation lets them back", async ({ page, browser }) => {
  const tomContext = await browser.newContext();
  const tom = await tomContext.newPage();
  await signIn(tom, TOM);

  await signIn(page, ADMIN);
  await page.goto("/admin/suppliers");
  await page.getByRole("link", { name: "Wood Corner" }).click();
  await hydrated(page);
  const row = page.locator("[data-user='tom@woodcorner.example']");
  await row.getByRole("button", { name: "Deactivate" }).click();
  await expect(row.getByTestId("user-status")).toHaveText("Deactivated");

  // Tom's next click goes to the sign-in page, and signing in again is refused.
  await tom.goto("/shipments");
  await expect(tom).toHaveURL(/\/login/);
  await hydrated(tom);
  await tom.getByLabel("Email").fill(TOM.email);
  await tom.getByLabel("Password").fill(TOM.password);
  await tom.getByRole("button", { name: "Sign in" }).click();
  await expect(tom.getByRole("alert")).not.toBeEmpty();
  await expect(tom).toHaveURL(/\/login/);

  await row.getByRole("button", { name: "Reactivate" }).click();
  await expect(row.getByTestId("user-status")).toHaveText("Active");
  await signIn(tom, TOM);

  // The audit log has both, by the admin.
  await page.goto("/admin/audit?action=user_");
  await expect(page.locator("tr[data-audit=user_deactivated]").first()).toContainText("admin@millrace.example");
  await expect(page.locator("tr[data-audit=user_reactivated]").first()).toContainText("tom@woodcorner.example");
  await tomContext.close();
});

test("buyers and suppliers cannot reach the admin pages; a supplier admin manages only its team", async ({ page }) => {
  await signIn(page, BUYER);
  for (const path of ["/admin/suppliers", "/admin/staff", "/admin/audit"]) {
    const r = await page.goto(path);
    expect(r?.status(), path).toBe(403);
    await expect(page.getByText("for administrators only")).toBeVisible();
  }
  await page.goto("/orders");
  await hydrated(page);
  await signOut(page);

  await signIn(page, ANA);
  await page.getByRole("link", { name: "Team" }).click();
  await expect(page).toHaveURL(/\/team/);
  await expect(page.locator("[data-user='lea@gemini.example']")).toBeVisible();
  await expect(page.locator("[data-user='tom@woodcorner.example']")).toHaveCount(0);
  await hydrated(page);
  // Only supplier roles to give.
  const roles = await page.getByLabel("Role").locator("option").evaluateAll((o) => o.map((x) => (x as HTMLOptionElement).value));
  expect(roles.sort()).toEqual(["supplier_admin", "supplier_user"]);
  // The server refuses an admin function even when called directly.
  const r = await page.request.get("/api/admin/suppliers?q=");
  expect(r.status()).toBe(403);
});
