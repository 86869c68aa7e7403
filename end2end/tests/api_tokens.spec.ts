import { ANA, TOM, expect, hydrated, signIn, signOut, test, watchErrors } from "./helpers";

test("a supplier admin creates an API token, its system reads orders with it, and revoking it ends that at once", async ({ page, request }) => {
  const errors = watchErrors(page);
  await signIn(page, ANA);
  await page.goto("/team");
  await hydrated(page);
  await page.getByLabel("For which system").fill("Gemini ERP (e2e)");
  await page.getByRole("checkbox", { name: "Read orders" }).check();
  await page.getByTestId("create-token").click();
  await expect(page.getByTestId("token-created")).toContainText("shown this once");
  const secret = (await page.getByTestId("token-secret").textContent()) ?? "";
  expect(secret).toMatch(/^mrt_[A-Za-z0-9]{32}$/);
  const row = page.locator("tr[data-token='Gemini ERP (e2e)']");
  await expect(row).toContainText("Read orders");
  await expect(row).not.toContainText(secret);

  // The system reads with it; it may not answer (only reading was ticked).
  const auth = { Authorization: `Bearer ${secret}` };
  expect((await request.get("/api/v1/orders", { headers: auth })).status()).toBe(200);
  const refused = await request.post("/api/v1/orders/1/acknowledge", { headers: { ...auth, "Idempotency-Key": "e2e-1" } });
  expect(refused.status()).toBe(403);
  expect((await refused.json()).code).toBe("scope_missing");

  // Another supplier's admin does not see it.
  await signOut(page);
  await signIn(page, TOM);
  await page.goto("/team");
  await hydrated(page);
  await expect(page.locator("tr[data-token='Gemini ERP (e2e)']")).toHaveCount(0);
  await signOut(page);

  // Revoked: the next request is refused.
  await signIn(page, ANA);
  await page.goto("/team");
  await hydrated(page);
  await page.locator("tr[data-token='Gemini ERP (e2e)']").getByTestId("revoke-token").click();
  await expect(page.locator("tr[data-token='Gemini ERP (e2e)'] [data-testid=token-state]")).toContainText("Revoked");
  expect((await request.get("/api/v1/orders", { headers: auth })).status()).toBe(401);
  expect(errors).toEqual([]);
});
