// Opens the same pages of two web UIs in headless Chromium and measures them.
//
//   node measure.cjs CONFIG.json
//
// CONFIG: { playwright, chromium, out, reps, warmup, idle_ms, timeout_ms,
//           pages: [{ server, page, url, ready: { selector, text?, attr?, min_len? } }] }
//
// For every page: `warmup` unmeasured visits, then `reps` measured ones. Each
// visit is a fresh browser context (empty cache, like a first visit), then a
// second visit of the same URL in that context (`warm`: the browser cache
// now holds what the server allowed it to keep). Per visit:
//
// * content_ms: navigation start → the first animation frame in which an
//   element matching `ready.selector` is visible and, when asked, contains
//   `ready.text` and has an attribute `ready.attr` at least `ready.min_len`
//   long (a chart's path drawn with its points, not an empty frame). Taken
//   in the page with performance.now(), whose origin is the navigation start.
// * idle_ms: the document request's start → the end of the last response,
//   once no request has been in flight for `idle_ms` (500 ms by default);
//   given up after `idle_cap_ms` (30 s), and flagged, if one stays open.
// * bytes: bytes received over the wire for every request of the page and
//   its workers (document, scripts, styles, fonts, XHR/fetch; response
//   headers included; a response served from the cache counts 0).
// * requests: requests the page sent, and how many failed or got a
//   status >= 400 (listed).
//
// Writes visits.jsonl (one line per visit), summary.json (medians per page
// and cache state) and one screenshot per page (the last cold visit, after
// network idle) under `out`; prints the summary.
"use strict";

const fs = require("fs");
const path = require("path");

const config = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const { chromium } = require(config.playwright);
const reps = config.reps ?? 5;
const warmup = config.warmup ?? 1;
const quietMs = config.idle_ms ?? 500;
const timeoutMs = config.timeout_ms ?? 120000;
// A page that keeps a request open (a stream, a long poll) never goes idle: stop waiting here.
const idleCapMs = config.idle_cap_ms ?? 30000;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// Runs in the page on every animation frame: the time once the content is shown.
function shown(ready) {
  for (const el of document.querySelectorAll(ready.selector)) {
    if (el.getClientRects().length === 0) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (ready.text && !(el.textContent || "").includes(ready.text)) continue;
    if (ready.attr && (el.getAttribute(ready.attr) || "").length < (ready.min_len || 1)) continue;
    return performance.now();
  }
  return false;
}

// One navigation in `page`, its requests followed through Playwright's events
// (which also see the requests of the page's dedicated workers).
async function visit(page, spec) {
  const net = { inflight: new Set(), responded: new Map(), requests: 0, failed: 0, errors: [], bytes: 0, start: null, lastEnd: null, lastWall: Date.now(), sizes: [] };
  const onRequest = (r) => {
    if (r.url().startsWith("data:") || r.url().startsWith("blob:")) return;
    net.requests += 1;
    net.inflight.add(r);
    net.lastWall = Date.now();
  };
  const done = (r, ok) => {
    if (!net.inflight.delete(r)) return;
    const t = r.timing();
    const end = t.startTime + (t.responseEnd >= 0 ? t.responseEnd : 0);
    if (t.startTime > 0 && (net.start === null || t.startTime < net.start)) net.start = t.startTime;
    if (net.lastEnd === null || end > net.lastEnd) net.lastEnd = end;
    net.lastWall = Date.now();
    if (!ok) {
      if ((r.failure() || {}).errorText !== "net::ERR_ABORTED") net.failed += 1;
      return;
    }
    // Bytes over the wire: response headers + body as received (0 when served from cache).
    net.sizes.push(
      r.sizes().then(
        (z) => z.responseHeadersSize + z.responseBodySize,
        () => 0,
      ),
    );
  };
  const onFinished = (r) => done(r, true);
  const onFailed = (r) => done(r, false);
  const workers = new Set();
  const onWorker = (w) => workers.add(w.url());
  const onResponse = (res) => {
    net.responded.set(res.request(), res);
    net.lastWall = Date.now();
    if (res.status() >= 400) net.errors.push(`${res.status()} ${res.url()}`);
  };
  page.on("request", onRequest);
  page.on("requestfinished", onFinished);
  page.on("requestfailed", onFailed);
  page.on("response", onResponse);
  page.on("worker", onWorker);
  try {
    await page.goto(spec.url, { waitUntil: "commit", timeout: timeoutMs });
    const handle = await page.waitForFunction(shown, spec.ready, { polling: "raf", timeout: timeoutMs });
    const contentMs = await handle.jsonValue();
    const deadline = Date.now() + idleCapMs;
    // Playwright reports neither the response nor the end of a dedicated
    // worker's own script once the worker runs: a request counts as settled
    // once its response has arrived, or its worker has started (MLflow's
    // telemetry worker, `*.worker.js`, is known by its name too).
    const isWorker = (r) => workers.has(r.url()) || /\.worker\.js(\?|$)/.test(r.url());
    const settled = () => [...net.inflight].every((r) => net.responded.has(r) || isWorker(r));
    while (Date.now() < deadline) {
      if (settled() && Date.now() - net.lastWall >= quietMs) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const open = [...net.inflight];
    for (const r of open) {
      const res = net.responded.get(r);
      net.sizes.push(Promise.resolve(res ? Number(res.headers()["content-length"] || 0) : 0));
    }
    const bytes = (await Promise.all(net.sizes)).reduce((a, b) => a + b, 0);
    return {
      content_ms: contentMs,
      idle_ms: net.start !== null && net.lastEnd !== null ? net.lastEnd - net.start : null,
      idle_reached: settled(),
      unfinished: open.map((r) => r.url()),
      bytes,
      requests: net.requests,
      failed: net.failed,
      http_errors: net.errors.length,
      errors: net.errors,
    };
  } finally {
    page.off("request", onRequest);
    page.off("requestfinished", onFinished);
    page.off("requestfailed", onFailed);
    page.off("response", onResponse);
    page.off("worker", onWorker);
  }
}

async function measure(browser, spec, rep, shot) {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, colorScheme: "light" });
  try {
    const page = await context.newPage();
    const cold = await visit(page, spec);
    if (shot) await page.screenshot({ path: shot });
    await page.goto("about:blank");
    const warm = await visit(page, spec);
    return [
      { server: spec.server, page: spec.page, cache: "cold", rep, ...cold },
      { server: spec.server, page: spec.page, cache: "warm", rep, ...warm },
    ];
  } finally {
    await context.close();
  }
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
  const visits = [];
  const log = fs.openSync(path.join(config.out, "visits.jsonl"), "w");
  try {
    for (const spec of config.pages) {
      for (let i = 0; i < warmup + reps; i++) {
        const rep = i - warmup; // negative: warm-up, not counted
        const last = i === warmup + reps - 1;
        const shot = last ? path.join(config.out, `${spec.server}-${spec.page}.png`) : null;
        const rows = await measure(browser, spec, rep, shot);
        for (const row of rows) {
          fs.writeSync(log, JSON.stringify(row) + "\n");
          if (rep >= 0) visits.push(row);
        }
        process.stderr.write(
          `${spec.server} ${spec.page} rep ${rep}: ` +
            rows.map((r) => `${r.cache} ${r.content_ms.toFixed(0)} ms content, ${r.bytes} B, ${r.requests} req`).join("; ") +
            "\n",
        );
      }
    }
  } finally {
    fs.closeSync(log);
    await browser.close();
  }
  const summary = [];
  for (const spec of config.pages) {
    for (const cache of ["cold", "warm"]) {
      const rows = visits.filter((v) => v.server === spec.server && v.page === spec.page && v.cache === cache);
      const pick = (k) => median(rows.map((r) => r[k]).filter((x) => x !== null));
      summary.push({
        server: spec.server,
        page: spec.page,
        url: spec.url,
        cache,
        reps: rows.length,
        content_ms: pick("content_ms"),
        idle_ms: pick("idle_ms"),
        bytes: pick("bytes"),
        requests: pick("requests"),
        failed: rows.reduce((n, r) => n + r.failed, 0),
        http_errors: rows.reduce((n, r) => n + r.http_errors, 0),
        idle_not_reached: rows.filter((r) => !r.idle_reached).length,
      });
    }
  }
  fs.writeFileSync(path.join(config.out, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
  process.stdout.write(JSON.stringify(summary) + "\n");
})().catch((e) => {
  process.stderr.write(`${e.stack || e}\n`);
  process.exit(2);
});
