// Opens an fsml evaluation report in headless Chromium and checks that it
// renders on its own: no network requests, no console errors, the confusion
// matrix, reliability diagram and per-class charts drawn, every thumbnail
// decoded. Saves a full-page screenshot.
//
//   node tests/browser/check_report.mjs REPORT.html SCREENSHOT.png
//
// Prints one JSON line ({"ok":true,"classes":...,"cells":...,"thumbs":...,
// "screenshot_bytes":...}) and exits 0, or prints "check_report: FAIL: ..."
// on stderr and exits 1 (2 for bad usage).
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

import { chromium } from 'playwright-core';

const CHROMIUM = process.env.FSML_CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
];
const TIMEOUT_MS = 60_000;

class CheckError extends Error {}

function check(condition, message) {
  if (!condition) throw new CheckError(message);
}

async function checkReport(page, failures) {
  for (const id of ['confusion', 'reliability', 'per-class']) {
    check(await page.locator(`svg#${id}`).isVisible(), `svg#${id} is missing or not visible`);
  }
  // k classes = the rows of the per-class table; the matrix must be k x k.
  const classes = await page.locator('#per-class-metrics table tbody tr').count();
  const cells = await page.evaluate(() => {
    const rects = [...document.querySelectorAll('svg#confusion rect.cell')];
    const empty = rects.filter((r) => {
      const box = r.getBoundingClientRect();
      return !(box.width > 0 && box.height > 0);
    });
    return { count: rects.length, empty: empty.length };
  });
  check(classes > 0, 'the per-class table has no rows');
  check(cells.count === classes * classes,
        `svg#confusion has ${cells.count} rect.cell, expected ${classes}x${classes} = ${classes * classes}`);
  check(cells.empty === 0, `${cells.empty} confusion-matrix cells have zero size`);

  const worstThumbs = await page.locator('#worst-errors img.thumb').count();
  check(worstThumbs > 0, '#worst-errors has no img.thumb');
  const thumbs = await page.evaluate(async () => {
    const imgs = [...document.querySelectorAll('img.thumb')];
    await Promise.allSettled(imgs.map((img) => img.decode()));
    return imgs.map((img) => ({ ok: img.complete && img.naturalWidth > 0, alt: img.alt }));
  });
  const broken = thumbs.filter((t) => !t.ok);
  check(broken.length === 0,
        `${broken.length} of ${thumbs.length} thumbnails did not decode: ${broken.map((t) => t.alt).join(', ')}`);

  // The sort script must run (the Content-Security-Policy allows it by hash).
  const header = page.locator('#per-class-metrics table th').nth(3);
  await header.click();
  check(await header.getAttribute('data-dir') !== null, 'clicking a per-class table header did not sort it');
  check(failures.length === 0, failures.join('; '));
  return { classes, cells: cells.count, thumbs: thumbs.length };
}

async function main() {
  const [reportArg, screenshotArg] = process.argv.slice(2);
  if (!reportArg || !screenshotArg) {
    console.error('usage: node tests/browser/check_report.mjs REPORT.html SCREENSHOT.png');
    process.exit(2);
  }
  const report = resolve(reportArg);
  check(statSync(report, { throwIfNoEntry: false })?.isFile(), `${report} does not exist`);

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT_MS);
    const failures = [];
    const blocked = [];
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
      blocked.push(url);
      return route.abort('blockedbyclient');
    });
    page.on('console', (msg) => {
      if (msg.type() === 'error') failures.push(`console error: ${msg.text()}`);
    });
    page.on('pageerror', (err) => failures.push(`page error: ${err.message}`));

    await page.goto(pathToFileURL(report).href, { waitUntil: 'load' });
    const screenshot = resolve(screenshotArg);
    await page.screenshot({ path: screenshot, fullPage: true });
    check(blocked.length === 0, `the report tried to fetch ${blocked.length} URL(s): ${blocked.slice(0, 5).join(', ')}`);
    const summary = await checkReport(page, failures);
    console.log(JSON.stringify({
      ok: true, report, ...summary, blocked_requests: 0, screenshot, screenshot_bytes: statSync(screenshot).size,
    }));
  } finally {
    await browser.close();
  }
}

const timer = setTimeout(() => {
  console.error(`check_report: FAIL: timed out after ${TIMEOUT_MS * 2 / 1000} s`);
  process.exit(1);
}, TIMEOUT_MS * 2);
try {
  await main();
  clearTimeout(timer);
} catch (err) {
  console.error(`check_report: FAIL: ${err instanceof CheckError ? err.message : err.stack || err}`);
  process.exit(1);
}
