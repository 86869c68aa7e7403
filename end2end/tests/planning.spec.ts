import { ANA, expect, hydrated, signIn, signOut, test, watchErrors } from "./helpers";

const PLANNER = { email: "planner@millrace.example", password: "planner-demo-pass" };

/** The Monday `weeks` weeks after this week's, as YYYY-MM-DD. */
function monday(weeks: number): string {
  const d = new Date();
  d.setUTCHours(0, 0, 0, 0);
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7) + 7 * weeks);
  return d.toISOString().slice(0, 10);
}

test("a planner imports a file with errors, reads the report, fixes the mapping, validates again and approves", async ({ page }) => {
  const errors = watchErrors(page);
  const item = `E2E-CHAIR-${Date.now()}`;
  const csv = [
    "item,location,bucket_start,bucket,quantity,unit,kind",
    `${item},WH,${monday(1)},week,12,Units,statistical`,
    `${item},WH,${monday(2)},week,14,Units,statistical`,
  ].join("\n");
  await signIn(page, PLANNER);
  await page.goto("/planning");
  await hydrated(page);
  await page.getByLabel("Source (its profile applies)").fill("e2e");
  await page.locator("#planning-file").setInputFiles({ name: "forecast.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  await page.getByTestId("planning-import").click();

  // Rejected, with a report a planner can act on.
  await expect(page.getByTestId("planning-status")).toHaveText("rejected");
  await expect(page.getByTestId("planning-error").or(page.getByTestId("planning-saved"))).toContainText("Rejected");
  const problems = page.getByTestId("planning-problems");
  await expect(problems).toContainText("No Odoo product has this internal reference");
  await expect(problems).toContainText(item);
  await expect(page.getByTestId("planning-unmapped")).toContainText(`item ${item}: 2 rows`);
  const report = await page.request.get((await page.getByTestId("planning-report").getAttribute("href")) ?? "");
  expect(report.status()).toBe(200);
  expect(await report.text()).toContain(`2,item,${item},`);

  // Fix the mapping: the item stands for a product the portal knows (kept in Units).
  await page.goto("/planning/mapping");
  await hydrated(page);
  await expect(page.locator(`[data-testid=mapping-unmapped] li[data-code='${item}']`)).toContainText("2 rows");
  const product = await page.locator("#known-products option", { hasText: "Units" }).first().getAttribute("value");
  expect(product).toBeTruthy();
  await expect(page.getByLabel("Item code")).toHaveValue(item);
  await page.getByLabel("Product (internal reference or Odoo id)").fill(product ?? "");
  await page.getByRole("button", { name: "Map the item" }).click();
  await expect(page.getByTestId("planning-saved")).toContainText(`Item ${item} now stands for product ${product}`);

  // Validate again without a new upload, then approve.
  await page.getByTestId("mapping-revalidate").click();
  await expect(page.getByTestId("planning-status")).toHaveText("valid");
  await expect(page.getByTestId("planning-saved")).toContainText("Valid: version");
  await expect(page.getByTestId("planning-diff")).toContainText(monday(2));
  await page.getByTestId("planning-approve").click();
  await expect(page.getByTestId("planning-status")).toHaveText("approved");
  await expect(page.getByTestId("planning-saved")).toContainText("is approved");

  // Its demand signal reaches Odoo's reordering rules (through the job queue).
  await page.getByTestId("planning-signals").click();
  await expect(page).toHaveURL(/\/planning\/signals\/\d+/);
  const signal = page.getByTestId("signal").first();
  await expect(signal).toHaveCount(1);
  await expect
    .poll(async () => {
      // Reloading a page whose WebAssembly is still starting tears it down mid-hydration.
      await page.reload();
      await hydrated(page);
      return page.getByTestId("signal").first().getAttribute("data-state");
    }, { timeout: 20_000 })
    // A conflict where the demo's Odoo has the buyer's own rule for the product (the
    // portal does not overwrite a rule it never wrote).
    .toMatch(/^(applied|unchanged|conflict)$/);
  await page.goBack();
  await hydrated(page);

  // The versions list shows it.
  await page.goto("/planning");
  await hydrated(page);
  await expect(page.getByTestId("planning-versions").locator("tr[data-status=approved]").first()).toContainText("e2e");
  expect(errors).toEqual([]);
});

test("a supplier cannot reach any planning page", async ({ page }) => {
  await signIn(page, ANA);
  for (const path of ["/planning", "/planning/mapping", "/planning/versions/1"]) {
    const r = await page.goto(path);
    expect(r?.status(), path).toBe(403);
    await expect(page.locator("body")).toContainText("for planners only");
  }
  const api = await page.request.get("/api/planning/versions");
  expect(api.status()).toBe(403);
  await page.goto("/orders");
  await hydrated(page);
  await expect(page.getByRole("link", { name: "Planning" })).toHaveCount(0);
  await signOut(page);
});

test("a buyer sees refused planning data among the exceptions, without a link to the planners' report", async ({ page }) => {
  const errors = watchErrors(page);
  await signIn(page, { email: "buyer@millrace.example", password: "buyer-demo-pass" });
  await page.goto("/buyer/exceptions");
  await hydrated(page);
  // The demo's source sent a third file that was refused: an item nobody mapped.
  const planning = page.locator("article[data-planning]");
  await expect(page.getByTestId("count-planning")).not.toHaveText("0");
  const refused = page.locator("article[data-planning=import_rejected]", { hasText: "forecast from frepple" });
  await expect(refused).toContainText("frepple-forecast-w3-draft.csv was refused with 4 problems");
  await expect(page.locator("article[data-planning=unmapped]", { hasText: "forecast from frepple" })).toContainText("1 item not mapped (2 rows): MC-1999");
  // Filtered to one supplier, planning data (nobody's in particular) steps aside.
  await page.getByLabel("Supplier", { exact: true }).selectOption({ index: 1 });
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(page.getByText("Planning data is not one supplier's")).toBeVisible();
  await expect(planning).toHaveCount(0);
  // A buyer may read the exceptions but not the planning pages themselves: not linked there.
  await page.goto("/buyer/exceptions");
  await hydrated(page);
  await expect(refused).toBeVisible();
  await expect(refused.getByRole("link")).toHaveCount(0);
  expect(errors).toEqual([]);
  await signOut(page);
});

test("a planner follows the same refusal to the report", async ({ page }) => {
  await signIn(page, PLANNER);
  await page.goto("/buyer/exceptions");
  await hydrated(page);
  const refused = page.locator("article[data-planning=import_rejected]", { hasText: "forecast from frepple" });
  await refused.getByRole("link").click();
  await expect(page.getByTestId("planning-status")).toHaveText("rejected");
  await expect(page.getByTestId("planning-problems")).toContainText("MC-1999");
  await signOut(page);
});

/** YYYY-MM-DD `days` from today. */
function inDays(days: number): string {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

test("a planner overrides a bucket on a version's page and sees it ringed on the item's chart", async ({ page }) => {
  const errors = watchErrors(page);
  await signIn(page, PLANNER);
  await page.goto("/planning/mapping");
  await hydrated(page);
  const product = await page.locator("#known-products option", { hasText: "Units" }).first().getAttribute("value");
  expect(product).toBeTruthy();
  const base = Date.now() % 1000;
  const csv = [
    "item,location,bucket_start,bucket,quantity,unit,kind",
    `${product},WH,${monday(1)},week,${base + 1},Units,statistical`,
    `${product},WH,${monday(2)},week,${base + 2},Units,statistical`,
  ].join("\n");
  await page.goto("/planning");
  await hydrated(page);
  await page.getByLabel("Source (its profile applies)").fill("e2e-items");
  await page.locator("#planning-file").setInputFiles({ name: "items.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  await page.getByTestId("planning-import").click();
  await expect(page.getByTestId("planning-status")).toHaveText("valid");

  // The override: a reason and a last day in the future are required.
  const override = async (until: string) => {
    await page.locator("#ov-item").fill(product ?? "");
    await page.locator("#ov-location").fill("WH");
    await page.locator("#ov-bucket").fill(monday(2));
    await page.locator("#ov-quantity").fill("4321");
    await page.locator("#ov-reason").fill("trade fair");
    await page.locator("#ov-until").fill(until);
    await page.getByTestId("override-save").click();
  };
  await override(inDays(0));
  await expect(page.getByTestId("planning-error")).toContainText("not in the future");
  await override(inDays(14));
  await expect(page.getByTestId("planning-saved")).toContainText("Override saved");
  await expect(page.getByTestId("effective")).toContainText("4321");
  await expect(page.getByTestId("effective")).toContainText(String(base + 2));

  // The item's page: a line per version, the override ringed, the same numbers in a table.
  await page.goto(`/planning/items/${product}?location=WH`);
  await hydrated(page);
  await expect(page.getByTestId("item-chart")).toBeVisible();
  await expect(page.getByTestId("override-mark")).toHaveCount(1);
  await expect(page.getByTestId("item-table").locator(`tr[data-bucket='${monday(2)}']`)).toContainText("4321");
  expect(errors).toEqual([]);
});

test("an admin sets up a scheduled pull, a planner pulls now and reads why it failed; a supplier cannot reach it", async ({ page }) => {
  const errors = watchErrors(page);
  const source = `e2e-pull-${Date.now()}`;
  await signIn(page, { email: "admin@millrace.example", password: "admin-demo-pass" });
  await page.goto("/planning/sources");
  await hydrated(page);
  // Bad input is refused with what to fix, and nothing is stored.
  await page.getByLabel("Source").fill(source);
  await page.getByLabel("Address (http or https)").fill("https://user:pw@plan.example.com/f.csv");
  await page.getByTestId("pull-save").click();
  await expect(page.getByTestId("planning-error")).toContainText("not in the address");
  await expect(page.locator(`tr[data-pull='${source}']`)).toHaveCount(0);
  // A planning system nobody answers for (port 9, discard): the pull fails with a reason.
  await page.getByLabel("Source").fill(source);
  await page.getByLabel("Address (http or https)").fill("http://127.0.0.1:9/forecast.csv");
  await page.getByLabel("Every how many hours").fill("12");
  await page.getByTestId("pull-save").click();
  await expect(page.getByTestId("planning-saved")).toContainText(`The pull of ${source} is set up`);
  await expect(page.locator(`tr[data-pull='${source}']`)).toContainText("every 12 h");
  await signOut(page);

  await signIn(page, PLANNER);
  await page.goto("/planning/sources");
  await hydrated(page);
  await expect(page.getByTestId("pull-form")).toHaveCount(0);
  const row = page.locator(`tr[data-pull='${source}']`);
  await row.getByTestId("pull-now").click();
  await expect(page.getByTestId("planning-saved")).toContainText("runs within a minute");
  await expect
    .poll(async () => {
      await page.reload();
      return page.locator(`tr[data-pull='${source}']`).getAttribute("data-status");
    }, { timeout: 20_000 })
    .toBe("failed");
  await expect(page.locator(`tr[data-pull='${source}'] [data-testid=pull-last]`)).toContainText("did not answer");
  expect(errors).toEqual([]);
  await signOut(page);

  await signIn(page, ANA);
  const r = await page.goto("/planning/sources");
  expect(r?.status()).toBe(403);
});

test("a planner traces the demo forecast to a supplier's answer, a buyer traces the order back, a supplier sees none of it", async ({ page }) => {
  const errors = watchErrors(page);
  await signIn(page, PLANNER);
  const versions = await (await page.request.get("/api/planning/versions")).json();
  const w2 = versions.find((v: { file_name: string }) => v.file_name === "frepple-forecast-w2.csv");
  expect(w2, "the demo's second approved version").toBeTruthy();

  // Forward: the version's trace reaches the order Odoo's replenishment made from a pushed
  // rule, and Gemini's answer and shipment notice (seeded in the background at start).
  await page.goto(`/planning/versions/${w2.id}`);
  await hydrated(page);
  await page.getByTestId("planning-trace").click();
  await expect(page).toHaveURL(new RegExp(`/planning/trace\\?version=${w2.id}$`));
  const answered = page.locator("[data-testid=trace-order]", { has: page.locator("[data-testid=trace-answer]", { hasText: "accepted" }) });
  await expect
    .poll(async () => {
      await page.reload();
      await hydrated(page);
      return answered.count();
    }, { timeout: 60_000 })
    .toBeGreaterThan(0);
  const order = answered.first();
  await expect(order).toContainText("Gemini Furniture");
  await expect(order.getByTestId("trace-notices")).toContainText(/ASN-\d+ 24 \(submitted, arriving \d{4}-\d{2}-\d{2}\)/);
  const signal = page.locator("[data-testid=trace-signal]", { has: answered });
  const reference = (await signal.first().getAttribute("data-reference")) ?? "";
  expect(reference).toMatch(/^SIG-\d+-\d+$/);
  await expect(signal.first().getByTestId("trace-odoo-record")).toContainText("stock.warehouse.orderpoint");
  const correlation = (await page.getByTestId("trace-correlation").first().textContent()) ?? "";
  const orderHref = (await order.getByTestId("trace-order-link").getAttribute("href")) ?? "";
  expect(orderHref).toMatch(/^\/orders\/\d+$/);
  // One item alone.
  const item = ((await signal.first().locator("h4").textContent()) ?? "").split("·")[1].split("@")[0].trim();
  await page.getByLabel("Item").fill(item);
  await page.getByRole("button", { name: "Trace this item" }).click();
  await expect(page.getByTestId("trace-signal")).toHaveCount(1);
  await signOut(page);

  // Backward: the buyer opens the order and follows it to the forecast version.
  await signIn(page, { email: "buyer@millrace.example", password: "buyer-demo-pass" });
  await page.goto(orderHref);
  await hydrated(page);
  await expect(page.getByTestId("planned-by")).toContainText(reference);
  await page.getByTestId("trace-link").click();
  await expect(page.getByTestId("trace-start-order")).toBeVisible();
  await expect(page.getByTestId("trace-version")).toContainText("frepple");
  await expect(page.getByTestId("trace-correlation")).toHaveText(correlation);
  await expect(page.locator(`[data-testid=trace-signal][data-reference='${reference}']`)).toHaveCount(1);
  await signOut(page);

  // The supplier answered the order but never sees the plan behind it.
  await signIn(page, ANA);
  await page.goto(orderHref);
  await hydrated(page);
  await expect(page.getByTestId("acknowledged")).not.toHaveText("Not yet");
  await expect(page.getByTestId("planned-by")).toHaveCount(0);
  const r = await page.goto(`/planning/trace?order=${orderHref.split("/").pop()}`);
  expect(r?.status()).toBe(403);
  expect(errors).toEqual([]);
});
