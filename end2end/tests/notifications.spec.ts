import { test, expect, DOUBLE_URL, hydrated, signIn, signOut, TOM } from "./helpers";

const BUYER = { email: "buyer@millrace.example", password: "buyer-demo-pass" };
const LEA = { email: "lea@gemini.example", password: "gemini-user-pass" };

test("a supplier chooses its order mails; a buyer gets the exceptions digest in the mailbox", async ({ page }) => {
  await signIn(page, TOM);
  await page.goto("/account");
  await hydrated(page);
  const orders = page.getByTestId("notify-orders");
  await expect(orders).toBeChecked();
  await orders.uncheck();
  await page.getByRole("button", { name: "Save email settings" }).click();
  await expect(page.getByTestId("notify-status")).toHaveText("Saved.");
  await page.reload();
  await expect(page.getByTestId("notify-orders")).not.toBeChecked();
  await expect(page.getByTestId("digest-now")).toHaveCount(0);
  await hydrated(page);
  await page.getByTestId("notify-orders").check();
  await page.getByRole("button", { name: "Save email settings" }).click();
  await expect(page.getByTestId("notify-status")).toHaveText("Saved.");

  // Something for the buyer: a proposal outside tolerance.
  await page.goto("/orders?status=new");
  await hydrated(page);
  await page.locator("table.orders tbody tr a").first().click();
  await hydrated(page);
  const line = page.locator("article.line").first();
  await line.getByText("Propose a change or reject").click();
  await line.getByLabel("New quantity").fill("1");
  await line.getByLabel("Reason (the buyer reads it)").fill("kiln down for a month");
  await line.getByRole("button", { name: "Send answer" }).click();
  await expect(page.locator("article.line").first().getByTestId("line-answer")).toContainText("Proposal awaiting buyer");
  await signOut(page);

  await signIn(page, BUYER);
  await page.goto("/account");
  await hydrated(page);
  await expect(page.getByTestId("notify-digest")).toBeChecked();
  await page.getByTestId("digest-now").click();
  await expect(page.getByTestId("digest-status")).toContainText("on its way to buyer@millrace.example");
  await page.goto("/dev/mailbox");
  const digest = page.locator("article", { hasText: "buyer@millrace.example" }).filter({ hasText: "exceptions need the purchasing team" }).first();
  await expect(digest).toContainText("Proposals awaiting a decision");
  await expect(digest).toContainText("/buyer/exceptions");
});

test("a supplier admin copies its organisation's order mail to a shared mailbox; a supplier user cannot", async ({ page }) => {
  await signIn(page, TOM);
  await page.getByRole("link", { name: "Team" }).click();
  await hydrated(page);
  await expect(page.getByLabel(/Mail our users when an order is released or changed/)).toBeChecked();
  await page.getByLabel("Also send a copy to (a shared mailbox)").fill("orders@woodcorner");
  await page.getByTestId("save-org-mail").click();
  await expect(page.getByTestId("org-mail-status")).toContainText("Give the shared mailbox as one address");
  await page.getByLabel("Also send a copy to (a shared mailbox)").fill("orders@woodcorner.example");
  await page.getByTestId("save-org-mail").click();
  await expect(page.getByTestId("org-mail-status")).toHaveText("Saved.");

  // The buyer changes one of Wood Corner's orders in Odoo: the shared mailbox hears of it.
  await page.goto("/orders");
  await hydrated(page);
  const name = (await page.locator("table.orders tbody tr a").last().textContent())!.trim();
  const edited = await page.request.post(`${DOUBLE_URL}/__double/purchase.order/${name}/lines/0`, { data: { product_qty: 123 } });
  expect(edited.ok()).toBeTruthy();
  await expect(async () => {
    await page.goto("/dev/mailbox");
    const copy = page.locator("article", { hasText: "orders@woodcorner.example" }).filter({ hasText: `Purchase order ${name} changed` });
    await expect(copy.first()).toContainText("shared mailbox");
  }).toPass({ timeout: 30_000 });
  await page.goto("/orders");
  await hydrated(page);
  await signOut(page);

  // A supplier user has no team page and cannot change the organisation's mail.
  await signIn(page, LEA);
  await expect(page.getByRole("link", { name: "Team" })).toHaveCount(0);
  expect((await page.goto("/team"))?.status()).toBe(403);
});
