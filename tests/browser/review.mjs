// After a held call was approved and ran: a reviewer in a real browser reads what became of it,
// filters the recent decisions, records a verdict on it, and reads the request's target.
// Another approver, whose categories do not include it, is refused; so is the approver who
// answered the held call (nobody reviews their own decision).
// usage: node review.mjs BASE_URL REQUEST_ID DECISION_INDEX [SCREENSHOT_DIR]
// Prints one JSON object with what it saw.
import { chromium } from "playwright-core";

const [base, requestId, decisionIndex, shots] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const out = {};

async function signIn(context, who) {
  const page = await context.newPage();
  await page.goto(`${base}/console`);
  await page.getByTestId("login-approver").fill(who);
  await page.getByTestId("login-password").fill(`lab-${who}-password`);
  await page.getByTestId("login-submit").click();
  await page.getByTestId("signed-in-as").waitFor();
  return page;
}

try {
  // A laptop-sized window: the width at which action names used to break mid-word.
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await signIn(context, "dana");
  await page.goto(`${base}/console/decisions`);
  const row = page.locator(`[data-testid="decision-row"][data-index="${decisionIndex}"]`);
  await row.waitFor();
  out.fate = (await row.getByTestId("cell-decision").textContent()).replace(/\s+/g, " ").trim();
  // Each action name sits on one line: an inline element that wraps has several boxes.
  out.toolLines = await page.$$eval('[data-testid="cell-tool"] code', (els) =>
    els.map((e) => ({ text: e.textContent, lines: e.getClientRects().length })));
  if (shots) await page.screenshot({ path: `${shots}/console-decisions.png`, fullPage: true });

  // Filters: held isolations only, through the form.
  await page.getByTestId("filter-tool").fill("edr.isolate_host");
  await page.getByTestId("filter-decision").selectOption("hold");
  await page.getByTestId("filter-submit").click();
  await page.getByTestId("filters").waitFor();
  out.filteredUrl = page.url();
  out.filteredTools = (await page.locator('[data-testid="decision-row"] [data-testid="cell-tool"]').allTextContents()).map((t) => t.trim());
  out.filteredDecisions = (await page.locator('[data-testid="decision-row"] [data-testid="cell-decision"] > .status').allTextContents()).map((t) => t.trim());
  await page.getByTestId("filter-q").fill("no-such-host-anywhere");
  await page.getByTestId("filter-submit").click();
  out.searchEmpty = (await page.getByTestId("decisions-empty").count()) === 1;

  // Another approver, not of this category, is refused.
  const other = await browser.newContext();
  const bob = await signIn(other, "bob");
  await bob.goto(`${base}/console/review/${decisionIndex}`);
  await bob.getByTestId("verdict-note").fill("looks right to me");
  await bob.getByTestId("verdict-correct").click();
  await bob.getByTestId("refusal").waitFor();
  out.otherRefusal = (await bob.getByTestId("refusal").textContent()).trim();
  await other.close();

  // Alice approved the call: she may not judge it.
  const own = await browser.newContext();
  const alice = await signIn(own, "alice");
  await alice.goto(`${base}/console/review/${decisionIndex}`);
  await alice.getByTestId("verdict-note").fill("I approved it, so it was right");
  await alice.getByTestId("verdict-correct").click();
  await alice.getByTestId("refusal").waitFor();
  out.ownRefusal = (await alice.getByTestId("refusal").textContent()).trim();
  await own.close();

  // The verdict, from the recent page's review link.
  await page.goto(`${base}/console/decisions`);
  await row.getByTestId("review-link").click();
  await page.getByTestId("verdict-form").waitFor();
  await page.getByTestId("verdict-note").fill("ws-042 beaconed to a C2 host: holding it was right");
  await page.getByTestId("verdict-correct").click();
  await page.getByTestId("notice").waitFor();
  out.verdictNotice = (await page.getByTestId("notice").textContent()).trim();
  out.verdicts = (await page.getByTestId("verdict-value").allTextContents()).map((t) => t.trim());
  if (shots) await page.screenshot({ path: `${shots}/console-review.png`, fullPage: true });

  // The request: its target as the inventory describes it, and how to undo it.
  await page.goto(`${base}/console/requests/${requestId}`);
  await page.getByTestId("request-reversible").waitFor();
  out.targets = await page.$$eval('[data-testid="request-target"]', (tables) =>
    tables.map((t) => ({
      argument: t.dataset.argument,
      id: t.querySelector('[data-testid="target-id"]').textContent,
      attributes: Object.fromEntries([...t.querySelectorAll('[data-testid="target-attribute"]')]
        .map((r) => [r.dataset.name, r.querySelector("td").textContent])),
    })));
  out.reversible = (await page.getByTestId("request-reversible").textContent()).trim();
  if (shots) await page.screenshot({ path: `${shots}/console-request.png`, fullPage: true });
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
