// A scripted keyboard annotator in headless Chromium: logs in, opens the
// labeling view of PROJECT and labels N items in single mode with the key
// "1", then waits until every label is saved. Measures, per label, the time
// from the key press to the next item on screen, and the whole run including
// the last save (our UI's overhead per label with its server round trips).
//
//   node bench/label_ui_bench.mjs URL USER PASSWORD PROJECT N
//
// Prints one JSON line: {"items", "total_s", "ms_per_item", "next_p50_ms", "next_p99_ms", "next_max_ms"}.
// playwright-core comes from tests/browser/node_modules (scripts/setup.sh).
import { launch, login } from '../tests/browser/lib.mjs';

const [url, user, password, project, nText] = process.argv.slice(2);
if (!nText) {
  console.error('usage: label_ui_bench.mjs URL USER PASSWORD PROJECT N');
  process.exit(2);
}
const n = Number(nText);
const pct = (v, p) => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.round((p / 100) * (s.length - 1)))];
};

const browser = await launch();
try {
  const page = await login(browser, url, user, password);
  page.setDefaultTimeout(30_000);
  await page.goto(`${url}/projects/${encodeURIComponent(project)}/label`);
  await page.getByTestId('label-item').waitFor();
  // Each step is timed inside the page: from the key press (a real one,
  // through the browser's input pipeline) to the next item in the DOM with
  // its content loaded (image decoded, or text shown).
  await page.evaluate(() => window.addEventListener('keydown', () => { window.__pressed = performance.now(); }, true));
  const gaps = [];
  const t0 = Date.now();
  for (let i = 0; i < n; i++) {
    const prev = await page.getByTestId('label-item').getAttribute('data-item-id');
    await page.keyboard.press('1');
    const ms = await page.evaluate(
      (prev) =>
        new Promise((resolve, reject) => {
          const deadline = performance.now() + 10_000;
          const poll = () => {
            const now = document.querySelector('[data-testid=label-item]');
            const img = now?.querySelector('img');
            if (now && now.getAttribute('data-item-id') !== prev && (!img || (img.complete && img.naturalWidth > 0)))
              return resolve(performance.now() - window.__pressed);
            if (performance.now() > deadline) return reject(new Error(`item ${prev} did not advance in 10 s`));
            setTimeout(poll, 1);
          };
          poll();
        }),
      prev,
    );
    gaps.push(ms);
  }
  await page.waitForFunction(() => {
    const el = document.querySelector('[data-testid=unsaved-count]');
    return !el || el.getAttribute('data-count') === '0';
  });
  const total = (Date.now() - t0) / 1000;
  console.log(JSON.stringify({
    items: n,
    total_s: +total.toFixed(2),
    ms_per_item: +((total * 1000) / n).toFixed(1),
    next_p50_ms: +pct(gaps, 50).toFixed(1),
    next_p99_ms: +pct(gaps, 99).toFixed(1),
    next_max_ms: +Math.max(...gaps).toFixed(1),
  }));
} finally {
  await browser.close();
}
