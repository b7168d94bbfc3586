// An approver in a real browser: sign in to warden's console, find the held call, approve it.
// Also checks that the console refuses a decision without the CSRF token and without a session.
// usage: node console.mjs BASE_URL REQUEST_ID [SCREENSHOT_DIR]
// Prints one JSON object with what it saw.
import { chromium } from "playwright-core";

const [base, requestId, shots] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const out = {};
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${base}/console`);
  await page.getByTestId("login-approver").fill("alice");
  await page.getByTestId("login-password").fill("lab-alice-password");
  await page.getByTestId("login-submit").click();
  await page.getByTestId("pending-table").waitFor();
  out.signedInAs = (await page.getByTestId("signed-in-as").textContent()).trim();
  const row = page.locator(`[data-testid="pending-row"][data-request-id="${requestId}"]`);
  out.pendingListed = (await row.count()) === 1;
  if (shots) await page.screenshot({ path: `${shots}/console-pending.png`, fullPage: true });
  // Action names stay whole in the table (`idp.disable_a|ccount` was split mid-word).
  out.pendingToolLines = await page.$$eval('[data-testid="cell-tool"] code', (els) =>
    els.map((e) => e.getClientRects().length));
  // Filters: by another tool the call is not listed; by its own it is.
  await page.getByTestId("filter-tool").fill("idp.disable_account");
  await page.getByTestId("filter-submit").click();
  await page.getByTestId("filters").waitFor();
  out.otherToolListed = await page.locator(`[data-testid="pending-row"][data-request-id="${requestId}"]`).count();
  await page.getByTestId("filter-tool").fill("");
  await page.getByTestId("filter-q").fill("WS-042");
  await page.getByTestId("filter-submit").click();
  await page.getByTestId("pending-table").waitFor();
  out.searchListed = await page.locator(`[data-testid="pending-row"][data-request-id="${requestId}"]`).count();

  await row.getByTestId("pending-link").click();
  await page.getByTestId("decide-form").waitFor();
  out.tool = (await page.getByTestId("request-tool").textContent()).trim();
  out.args = (await page.getByTestId("request-args").textContent()).trim();
  out.untrustedWarning = (await page.getByTestId("untrusted-warning").count()) > 0;
  out.evidence = (await page.getByTestId("evidence-item").allTextContents()).map((t) => t.trim());

  // A forged decision: the session cookie rides along, the CSRF token does not.
  const forged = await context.request.post(`${base}/console/requests/${requestId}/decide`, {
    form: { decision: "approve", reason: "forged" }, maxRedirects: 0,
  });
  out.withoutCsrf = forged.status();

  // No session at all.
  const stranger = await browser.newContext();
  const r = await stranger.request.post(`${base}/console/requests/${requestId}/decide`, {
    form: { decision: "approve", reason: "drive-by", csrf: "x" }, maxRedirects: 0,
  });
  out.withoutSession = r.status();
  await stranger.close();

  await page.reload();
  await page.getByTestId("reason").fill("ws-042 shows credential theft; isolation approved");
  await page.getByTestId("approve").click();
  await page.getByTestId("request-status").waitFor();
  out.status = await page.getByTestId("request-status").getAttribute("data-status");

  // Paging: one decision a page; "Older" leads to an older decision with the same filters.
  await page.goto(`${base}/console/decisions?limit=1`);
  const firstIndex = await page.getByTestId("decision-row").first().getAttribute("data-index");
  await page.getByTestId("next-page").click();
  await page.getByTestId("decision-row").first().waitFor();
  out.pagedRows = await page.getByTestId("decision-row").count();
  out.pagedIndices = [Number(firstIndex),
    Number(await page.getByTestId("decision-row").first().getAttribute("data-index"))];
  out.pagedKeepsLimit = new URL(page.url()).searchParams.get("limit");
  out.pagedFirstLink = await page.getByTestId("first-page").count();

  await page.goto(`${base}/console/decisions`);
  const link = page.getByTestId("session-link").first();
  if ((await link.count()) > 0) {
    await link.click();
    await page.getByTestId("trail-session").waitFor();
    out.trailRows = await page.getByTestId("trail-row").count();
    if (shots) await page.screenshot({ path: `${shots}/console-session.png`, fullPage: true });
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
