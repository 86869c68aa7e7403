import { expect, Page } from "@playwright/test";

export const ANA = { email: "ana@gemini.example", password: "gemini-demo-pass" };
export const TOM = { email: "tom@woodcorner.example", password: "woodcorner-demo-pass" };
export const DOUBLE_URL = process.env.DOUBLE_URL ?? "";

/** Waits until the WASM bundle has hydrated the page. */
export async function hydrated(page: Page) {
  await expect(page.locator("[data-hydrated=true]")).toBeVisible();
}

export async function signIn(page: Page, who: { email: string; password: string }) {
  await page.goto("/login");
  await hydrated(page);
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/orders/);
  await expect(page.getByRole("heading", { name: "Purchase orders" })).toBeVisible();
}

/** Collects page errors and failed requests so a test can assert there were none. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("response", (r) => {
    if (r.status() >= 500) errors.push(`HTTP ${r.status()} ${r.url()}`);
  });
  return errors;
}

/** Signs out and waits for the sign-in page, so the next sign-in does not race the redirect. */
export async function signOut(page: Page) {
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login/);
}
