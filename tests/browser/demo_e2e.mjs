// The demo, the flywheel setting and the dataset versions page in headless
// Chromium, against a running `fsml serve` whose workspace has project toy
// with versions v1 and v2 (v2 adds items), model toy/1 aliased production,
// the admin (password in argv) and viewer "vera" (password in argv):
// the admin opens the demo, sends an image, sees the bars, latency and
// version, shares the link; vera opens the link and predicts; the admin
// turns collection on in the settings, an unsure demo input comes back as
// an item of the project; the versions page draws its charts and diffs
// v1 and v2 with thumbnails.
//
//   node tests/browser/demo_e2e.mjs URL ADMIN_PASSWORD VIEWER_PASSWORD SHOTS_DIR
//
// Prints one JSON line with what it did and exits 0, or "demo_e2e: FAIL: ..." and 1.
import { mkdirSync } from 'node:fs';

import { Fail, check, grayPng, launch, login as loginAt } from './lib.mjs';

const [url, adminPassword, viewerPassword, shots] = process.argv.slice(2);
if (!shots) {
  console.error('usage: demo_e2e.mjs URL ADMIN_PASSWORD VIEWER_PASSWORD SHOTS_DIR');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

// An 8x8 grayscale PNG, different for each seed (none of them is in the project).
const png = (seed) => grayPng(8, 8, (x, y) => x * 29 + y * 53 + seed * 101);

const login = (browser, name, password) => loginAt(browser, url, name, password);

async function predictOnPage(page, seed) {
  await page.getByTestId('demo-file').setInputFiles({ name: `in${seed}.png`, mimeType: 'image/png', buffer: png(seed) });
  await page.getByTestId('demo-preview').waitFor();
  await page.getByTestId('demo-meta').waitFor();
  const rows = await page.getByTestId('demo-predictions').locator('li').count();
  const meta = await page.getByTestId('demo-meta').innerText();
  return { rows, meta };
}

const apiGet = (page, path) => page.evaluate(async (p) => (await fetch(p, { credentials: 'same-origin' })).json(), path);

async function main() {
  const browser = await launch();
  const done = {};
  try {
    const admin = await login(browser, 'admin', adminPassword);

    // The demo: the production alias by default, bars, latency, version.
    await admin.getByRole('link', { name: 'Demo' }).click();
    await admin.getByTestId('demo-model').waitFor();
    check((await admin.getByTestId('demo-model').inputValue()) === 'toy@production', 'the demo picks the production alias');
    const first = await predictOnPage(admin, 1);
    check(first.rows === 3, `three bars for three labels (got ${first.rows})`);
    check(/toy\/1/.test(first.meta) && /\d+ ms/.test(first.meta), `version and latency shown: ${first.meta}`);
    await admin.screenshot({ path: `${shots}/01-demo.png` });
    done.predicted = first.meta;

    // Share: a link to this model's demo.
    await admin.getByTestId('demo-share').click();
    const link = await admin.getByTestId('demo-link').inputValue();
    check(link === `${url}/demo/toy@production`, `share link: ${link}`);
    done.link = link;

    // A viewer opens the link and uses the demo with nothing to set up.
    const vera = await login(browser, 'vera', viewerPassword);
    await vera.goto(link);
    await vera.getByTestId('demo-model').waitFor();
    check((await vera.getByTestId('demo-model').inputValue()) === 'toy@production', 'the link opens that model');
    const viewer = await predictOnPage(vera, 2);
    check(viewer.rows === 3, 'the viewer sees the bars');
    await vera.screenshot({ path: `${shots}/02-demo-viewer.png` });

    // The flywheel: collect everything below 100% confidence, then a new input comes back.
    await admin.goto(`${url}/projects/toy?tab=settings`);
    const setting = admin.getByTestId('collect-setting');
    await setting.locator('input[type=checkbox]').check();
    await setting.locator('input[type=number]').fill('100');
    await admin.getByRole('button', { name: 'Save settings' }).click();
    await admin.getByText('Settings saved.').waitFor();
    const saved = await apiGet(admin, '/api/v1/projects/toy');
    check(saved.collect_below === 1, `collect_below saved: ${saved.collect_below}`);
    await admin.screenshot({ path: `${shots}/03-settings.png` });
    const before = saved.progress.items;
    await admin.goto(`${url}/demo/toy@production`);
    await predictOnPage(admin, 3);
    await admin.waitForFunction(async (n) => {
      const r = await fetch('/api/v1/projects/toy', { credentials: 'same-origin' });
      return (await r.json()).progress.items === n + 1;
    }, before, { polling: 200 });
    done.collected = 1;

    // Dataset versions: the composition chart and a diff of any two versions.
    await admin.goto(`${url}/projects/toy/versions`);
    await admin.getByTestId('versions-chart').waitFor();
    check((await admin.getByTestId('versions-chart').locator('.stack').count()) === 2, 'one bar per version');
    await admin.selectOption('#diff-a', '1');
    await admin.selectOption('#diff-b', '2');
    await admin.getByTestId('diff-form').locator('button[type=submit]').click();
    await admin.waitForFunction(() => document.querySelector('[data-testid=diff-result], .error-box'));
    const diffError = admin.locator('.error-box');
    if (await diffError.count()) throw new Fail(`diff: ${await diffError.first().innerText()}`);
    const thumbs = admin.getByTestId('diff-added').locator('img');
    check((await thumbs.count()) === 3, 'three added samples');
    await admin.waitForFunction(() =>
      [...document.querySelectorAll('[data-testid=diff-added] img')].every((i) => i.complete && i.naturalWidth > 0));
    await admin.screenshot({ path: `${shots}/04-versions.png`, fullPage: true });
    done.diff = await admin.getByTestId('diff-result').locator('.diff-bars').innerText();
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(done));
}

main().catch((e) => {
  console.error(`demo_e2e: FAIL: ${e instanceof Fail ? e.message : e.stack}`);
  process.exit(1);
});
