import { test as base, expect, Browser, BrowserContext, Page } from "@playwright/test";

export { expect };

/** Describes a Content Security Policy violation a page reported (inside the page). */
declare global {
  interface Window {
    __millraceCspViolation?: (description: string) => void;
  }
}

/**
 * Reports every CSP violation of the pages of `context` into `violations`: Chromium's console
 * message ("Refused to ... Content Security Policy ...") and the page's
 * `securitypolicyviolation` event.
 */
async function watchCsp(context: BrowserContext, violations: string[]) {
  const watchPage = (page: Page) =>
    page.on("console", (m) => {
      if (m.type() === "error" && /Content Security Policy/i.test(m.text())) {
        violations.push(`${page.url()}: ${m.text()}`);
      }
    });
  context.pages().forEach(watchPage);
  context.on("page", watchPage);
  await context.exposeBinding("__millraceCspViolation", ({ page }, description: string) => {
    violations.push(`${page.url()}: ${description}`);
  });
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      window.__millraceCspViolation?.(
        `${e.effectiveDirective} refused ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`,
      );
    });
  });
}

/**
 * Playwright's `test`, failing any test during which a page (of its context, or of a context
 * it opened with `browser.newContext`) reported a Content Security Policy violation. Every spec
 * imports `test` from here. A test that provokes one on purpose empties `cspViolations` after
 * checking them.
 */
export const test = base.extend<{ cspViolations: string[] }>({
  cspViolations: [
    async ({ context, browser }, use) => {
      const violations: string[] = [];
      await watchCsp(context, violations);
      const newContext = browser.newContext.bind(browser);
      browser.newContext = async (options) => {
        const opened = await newContext(options);
        await watchCsp(opened, violations);
        return opened;
      };
      try {
        await use(violations);
      } finally {
        browser.newContext = newContext;
      }
      expect(violations, "Content Security Policy violations").toEqual([]);
    },
    { auto: true },
  ],
});

export const ANA = { email: "ana@gemini.example", password: "gemini-demo-pass" };
export const TOM = { email: "tom@woodcorner.example", password: "woodcorner-demo-pass" };
export const DOUBLE_URL = process.env.DOUBLE_URL ?? "";

/** Waits until the WASM bundle has hydrated the page. */
export async function hydrated(page: Page) {
  await expect(page.locator("[data-hydrated=true]")).toBeAttached();
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

/** A browser context with JavaScript off, signed in as `who`: what a page is before hydration. */
export async function signInWithoutJs(browser: Browser, who: { email: string; password: string }) {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto("/login");
  await page.getByLabel("Email").fill(who.email);
  await page.getByLabel("Password").fill(who.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/orders/);
  return { context, page };
}

/** Signs out and waits for the sign-in page, so the next sign-in does not race the redirect. */
export async function signOut(page: Page) {
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/login/);
}
