// Drives headless Chromium through lathe's web UI for crates/cli/tests/it/ui.rs.
//
//   node ui.cjs CONFIG.json
//
// CONFIG: { base, out, chromium, playwright, pages: [{ name, path, expect: [text],
//           status?, dark?, interact? }] }
// For every page: open it, check the status, that every expected text is
// visible, that there were no console errors, page errors, failed requests,
// responses >= 400 (other than the page's own expected status) or dialogs
// (an alert would mean an injected script ran); then run the page's
// interaction and save a full-page screenshot (and a dark one when asked).
// Prints one JSON line per page and exits 1 if any check failed.
"use strict";

const fs = require("fs");
const path = require("path");

const config = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const { chromium } = require(config.playwright);

const interactions = {
  // Hover a chart and move its keyboard cursor: the tooltip shows the step.
  async chart(page, problems) {
    const svg = page.locator(".plot svg").first();
    await svg.scrollIntoViewIfNeeded();
    const box = await svg.boundingBox();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
    const tip = page.locator(".tip").first();
    if (!(await tip.isVisible())) problems.push("hover tooltip did not appear");
    const hovered = await tip.textContent();
    if (!/step \d+/.test(hovered || "")) problems.push(`hover tooltip says ${JSON.stringify(hovered)}`);
    await page.mouse.move(0, 0);
    await svg.focus();
    await page.keyboard.press("End");
    await page.keyboard.press("ArrowLeft");
    const keyed = await tip.textContent();
    if (!/step \d+/.test(keyed || "")) problems.push(`keyboard tooltip says ${JSON.stringify(keyed)}`);
    await page.mouse.move(box.x + box.width * 0.7, box.y + box.height * 0.4);
  },
  // The drift heatmap names each cell's value, and the charts over windows
  // show values per window under the pointer.
  async monitoring(page, problems) {
    const cell = page.locator(".heat rect.drifted").first();
    if ((await cell.count()) === 0) {
      problems.push("no drifted cell in the heatmap");
    } else {
      const title = await cell.locator("title").textContent();
      if (!/window \d+: p = [0-9.e-]+ \(drifted\)/.test(title || "")) problems.push(`drifted cell says ${JSON.stringify(title)}`);
    }
    const svg = page.locator(".plot svg[data-xy]").first();
    await svg.scrollIntoViewIfNeeded();
    const box = await svg.boundingBox();
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.5);
    const tip = page.locator(".tip").first();
    const hovered = await tip.textContent();
    if (!(await tip.isVisible()) || !/window \d+/.test(hovered || "")) problems.push(`window chart tooltip says ${JSON.stringify(hovered)}`);
    await page.mouse.move(0, 0);
    await page.locator(".heat").scrollIntoViewIfNeeded();
  },
  // Pick two runs with the keyboard-reachable checkboxes and compare them.
  async compare(page, problems) {
    const boxes = page.locator("input[form=compare][name=runs]");
    const n = await boxes.count();
    if (n < 2) {
      problems.push(`only ${n} run checkboxes`);
      return;
    }
    await boxes.nth(n - 1).check();
    await boxes.nth(n - 2).check();
    const count = await page.locator("[data-compare-count]").textContent();
    if (count !== "2 selected") problems.push(`selection count says ${JSON.stringify(count)}`);
    await Promise.all([page.waitForURL(/\/compare\?/), page.locator("[data-compare]").click()]);
    if (!(await page.locator("table.compare").first().isVisible())) problems.push("compare page has no table");
    await page.goBack();
    for (let i = 0; i < n; i++) await boxes.nth(i).uncheck();
  },
  // Open the column chooser and narrow it to one key.
  async columns(page, problems) {
    await page.locator("details.columns summary").click();
    const find = page.locator("[data-col-filter]");
    await find.fill("roc");
    const visible = await page.locator("label.col:visible").allTextContents();
    if (visible.length === 0 || !visible.every((t) => t.includes("roc"))) {
      problems.push(`column filter shows ${JSON.stringify(visible)}`);
    }
  },
};

async function visit(browser, spec) {
  const problems = [];
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, colorScheme: "light" });
  const page = await context.newPage();
  const expectedStatus = spec.status || 200;
  page.on("console", (m) => {
    if (m.type() !== "error") return;
    // Chromium logs the expected 4xx of an error page itself; nothing else may fail.
    const own = m.location().url === config.base + spec.path && expectedStatus !== 200;
    if (own && m.text().includes(`status of ${expectedStatus}`)) return;
    problems.push(`console error: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("dialog", async (d) => {
    problems.push(`dialog opened (${d.type()}: ${d.message()}): a script ran`);
    await d.dismiss();
  });
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure() && r.failure().errorText}`));
  page.on("response", (r) => {
    const isDoc = r.request().isNavigationRequest() && r.url() === config.base + spec.path;
    if (r.status() >= 400 && !(isDoc && r.status() === expectedStatus)) {
      problems.push(`HTTP ${r.status()} for ${r.url()}`);
    }
  });
  const response = await page.goto(config.base + spec.path, { waitUntil: "load" });
  if (!response) problems.push("no response");
  else if (response.status() !== expectedStatus) problems.push(`status ${response.status()}, expected ${expectedStatus}`);
  const text = await page.locator("body").innerText();
  for (const needle of spec.expect) {
    if (!text.includes(needle)) problems.push(`text not shown: ${JSON.stringify(needle)}`);
  }
  const title = await page.title();
  if (!title.endsWith("· lathe")) problems.push(`title ${JSON.stringify(title)}`);
  // Keyboard: the skip link is the first stop and leads to the content.
  await page.keyboard.press("Tab");
  const first = await page.evaluate(() => document.activeElement && document.activeElement.className);
  if (first !== "skip") problems.push(`first Tab stop is ${JSON.stringify(first)}, not the skip link`);
  if (spec.interact) {
    try {
      await interactions[spec.interact](page, problems);
    } catch (e) {
      problems.push(`${spec.interact}: ${e.message}`);
    }
  }
  if (!spec.interact) await page.evaluate(() => document.activeElement && document.activeElement.blur());
  const shots = [path.join(config.out, `${spec.name}.png`)];
  await page.screenshot({ path: shots[0], fullPage: true });
  if (spec.dark) {
    await page.emulateMedia({ colorScheme: "dark" });
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    if (bg === "rgb(255, 255, 255)") problems.push("dark mode keeps a white background");
    shots.push(path.join(config.out, `${spec.name}-dark.png`));
    await page.screenshot({ path: shots[1], fullPage: true });
  }
  await context.close();
  return { name: spec.name, path: spec.path, problems, screenshots: shots };
}

(async () => {
  fs.mkdirSync(config.out, { recursive: true });
  const browser = await chromium.launch({
    executablePath: config.chromium,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  let failed = false;
  try {
    for (const spec of config.pages) {
      let result;
      try {
        result = await visit(browser, spec);
      } catch (e) {
        result = { name: spec.name, path: spec.path, problems: [`${e.message}`], screenshots: [] };
      }
      if (result.problems.length > 0) failed = true;
      process.stdout.write(JSON.stringify(result) + "\n");
    }
  } finally {
    await browser.close();
  }
  process.exit(failed ? 1 : 0);
})().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(2);
});
