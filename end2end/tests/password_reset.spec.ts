import { test, expect, hydrated } from "./helpers";

test("a supplier resets a forgotten password with the emailed link, once", async ({ page, browser }) => {
  // Another device is signed in as Lea; the reset must end that session.
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  await otherPage.goto("/login");
  await hydrated(otherPage);
  await otherPage.getByLabel("Email").fill("lea@gemini.example");
  await otherPage.getByLabel("Password").fill("gemini-user-pass");
  await otherPage.getByRole("button", { name: "Sign in" }).click();
  await expect(otherPage).toHaveURL(/\/orders/);

  await page.goto("/login");
  await hydrated(page);
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  await hydrated(page);
  await page.getByLabel("Email you sign in with").fill("lea@gemini.example");
  await page.getByRole("button", { name: "Send me a link" }).click();
  await expect(page.getByTestId("reset-status")).toContainText("a link to choose a new password is on its way");

  await page.goto("/dev/mailbox");
  const link = page.locator("article", { hasText: "lea@gemini.example" }).first().locator("a");
  const href = (await link.getAttribute("href"))!;
  await link.click();
  await hydrated(page);
  await page.getByLabel("New password (at least 10 characters)").fill("lea-new-password-1");
  await page.getByLabel("The same again").fill("lea-new-password-2");
  await page.getByRole("button", { name: "Set password" }).click();
  await expect(page.getByRole("alert")).toContainText("The two passwords differ");
  await page.getByLabel("The same again").fill("lea-new-password-1");
  await page.getByRole("button", { name: "Set password" }).click();
  await expect(page).toHaveURL(/\/login\?reset=1/);
  await expect(page.getByRole("status")).toContainText("Your password was changed");

  // The link is used up.
  await page.goto(href);
  await hydrated(page);
  await page.getByLabel("New password (at least 10 characters)").fill("lea-third-password");
  await page.getByLabel("The same again").fill("lea-third-password");
  await page.getByRole("button", { name: "Set password" }).click();
  await expect(page.getByRole("alert")).toContainText("not valid any more");

  // The other device was signed out.
  await otherPage.goto("/orders");
  await expect(otherPage).toHaveURL(/\/login/);
  await other.close();

  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("Email").fill("lea@gemini.example");
  await page.getByLabel("Password").fill("lea-new-password-1");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/orders/);
});
