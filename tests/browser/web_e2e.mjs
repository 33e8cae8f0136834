// The web app end to end in headless Chromium, against a running `fsml serve`
// whose workspace has users admin (FSML_ADMIN_PASSWORD), ann and bob
// (annotators) with the password in argv: log in, create a project with
// overlap 2, upload images, label by keyboard in single mode (with undo and
// a flag) and in grid mode, a second annotator disagrees on some items, the
// admin reviews a disagreement, sees agreement and commits a version, then
// retrains a model from the project page, and ann accepts its suggestion
// with Enter.
// Screenshots of each page go to SHOTS_DIR.
//
//   node tests/browser/web_e2e.mjs URL ADMIN_PASSWORD USER_PASSWORD SHOTS_DIR
//
// Prints one JSON line with what it did and exits 0, or "web_e2e: FAIL: ..." and 1.
import { mkdirSync } from 'node:fs';

import { Fail, check, grayPng, launch, login as loginAt } from './lib.mjs';

const [url, adminPassword, userPassword, shots] = process.argv.slice(2);
if (!shots) {
  console.error('usage: web_e2e.mjs URL ADMIN_PASSWORD USER_PASSWORD SHOTS_DIR');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const PROJECT = 'animals';
const ITEMS = 40;

const png = (seed) => grayPng(16, 16, (x, y) => x * 11 + y * 7 + seed * 37);
const login = (browser, name, password) => loginAt(browser, url, name, password);

async function currentItem(page) {
  const item = page.getByTestId('label-item');
  await item.waitFor();
  return item.getAttribute('data-item-id');
}

// Labels `n` items in single mode with key `key`; returns their ids.
async function labelSingle(page, key, n) {
  const ids = [];
  for (let i = 0; i < n; i++) {
    const id = await currentItem(page);
    ids.push(id);
    await page.keyboard.press(key);
    await page.waitForFunction((prev) => {
      const el = document.querySelector('[data-testid=label-item]');
      return !el || el.getAttribute('data-item-id') !== prev;
    }, id);
  }
  return ids;
}

async function waitSaved(page) {
  await page.waitForFunction(() => {
    const el = document.querySelector('[data-testid=unsaved-count]');
    return !el || el.getAttribute('data-count') === '0';
  });
}

async function main() {
  const browser = await launch();
  const done = {};
  try {
    // Log in and create the project.
    const loginPage = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await loginPage.goto(url + '/login');
    await loginPage.screenshot({ path: `${shots}/01-login.png` });
    const admin = await login(browser, 'admin', adminPassword);
    await admin.getByRole('button', { name: 'New project' }).click();
    await admin.fill('#np-name', PROJECT);
    await admin.fill('#np-overlap', '2');
    const names = ['cat', 'dog', 'bird'];
    for (let i = 0; i < names.length; i++) {
      let rows = admin.locator('.label-row');
      if ((await rows.count()) <= i) {
        await admin.getByRole('button', { name: 'Add label' }).click();
        rows = admin.locator('.label-row');
      }
      await rows.nth(i).locator('input[type=text]:not(.hotkey-input)').fill(names[i]);
    }
    await admin.screenshot({ path: `${shots}/02-new-project.png` });
    await admin.locator('[data-testid=new-project-form] button[type=submit]').click();
    await admin.waitForFunction((p) => location.pathname.startsWith(`/projects/${p}`), PROJECT);

    // Upload images.
    await admin.goto(`${url}/projects/${PROJECT}?tab=import`);
    await admin.setInputFiles('#import-files',
      Array.from({ length: ITEMS }, (_, i) => ({ name: `img${i}.png`, mimeType: 'image/png', buffer: png(i) })));
    await admin.getByRole('button', { name: 'Upload' }).click();
    await admin.getByTestId('import-result').waitFor();
    check((await admin.getByTestId('import-result').innerText()).includes(String(ITEMS)), 'import result names the count');
    await admin.screenshot({ path: `${shots}/03-import.png` });

    // ann labels 20 in single mode: undo one, flag one.
    const ann = await login(browser, 'ann', userPassword);
    await ann.goto(`${url}/projects/${PROJECT}/label`);
    const first = await labelSingle(ann, '1', 5);
    await ann.keyboard.press('Backspace');  // undo: the last item comes back
    check(await currentItem(ann) === first[4], 'undo brings the last item back');
    const annSingle = [...first.slice(0, 4), ...(await labelSingle(ann, '2', 16))];
    await ann.screenshot({ path: `${shots}/04-label-single.png` });
    const flagged = await currentItem(ann);
    await ann.keyboard.press('f');
    await ann.getByTestId('flag-dialog').locator('textarea').fill('two animals in one picture');
    await ann.keyboard.press('Enter');
    await ann.getByTestId('flag-dialog').waitFor({ state: 'hidden' });
    // Grid mode: select all of a page with the arrows and space, label with 3.
    await ann.keyboard.press('g');
    await ann.locator('[data-testid=grid-cell]').first().waitFor();
    const cells = await ann.locator('[data-testid=grid-cell]').count();
    const pick = Math.min(10, cells);
    await ann.locator('[data-testid=grid-cell]').first().focus();
    for (let i = 0; i < pick; i++) {
      await ann.keyboard.press('Space');
      if (i < pick - 1) await ann.keyboard.press('ArrowRight');
    }
    check(await ann.locator('[data-testid=grid-cell][aria-selected=true]').count() === pick, 'grid selection by keyboard');
    await ann.keyboard.press('3');
    await waitSaved(ann);
    await ann.screenshot({ path: `${shots}/05-label-grid.png` });
    done.ann_single = annSingle.length;
    done.ann_grid = pick;

    // bob labels the same first items with another label: disagreements.
    const bob = await login(browser, 'bob', userPassword);
    await bob.goto(`${url}/projects/${PROJECT}/label`);
    const bobIds = await labelSingle(bob, '3', 6);
    // ... and agrees with ann's "2" on the next 14: final labels to train on.
    bobIds.push(...(await labelSingle(bob, '2', 14)));
    await waitSaved(bob);
    done.bob = bobIds.length;

    // The admin reviews one disagreement, sees agreement and commits.
    await admin.goto(`${url}/projects/${PROJECT}/review`);
    await admin.getByTestId('review-item').waitFor();
    await admin.screenshot({ path: `${shots}/06-review.png` });
    const reviewed = await admin.getByTestId('review-item').getAttribute('data-item-id');
    await admin.getByTestId('review-button-cat').click();
    await admin.waitForFunction((prev) => {
      const el = document.querySelector('[data-testid=review-item]');
      return !el || el.getAttribute('data-item-id') !== prev;
    }, reviewed);
    done.reviewed = reviewed;
    await admin.goto(`${url}/projects/${PROJECT}/agreement`);
    await admin.getByTestId('agreement-table').waitFor();
    check((await admin.getByTestId('agreement-table').innerText()).includes('bob'), 'agreement table lists the pair');
    await admin.screenshot({ path: `${shots}/07-agreement.png` });
    await admin.goto(`${url}/projects/${PROJECT}/versions`);
    const form = admin.getByTestId('commit-form');
    await form.locator('input, textarea').first().fill('first labels from the web');
    await form.locator('button[type=submit]').click();
    await admin.getByTestId('versions-table').getByText('first labels from the web').waitFor();
    await admin.screenshot({ path: `${shots}/08-versions.png` });
    await admin.goto(`${url}/`);
    await admin.getByTestId('project-card').first().waitFor();
    await admin.screenshot({ path: `${shots}/09-projects.png` });

    // Retrain from the project page: a model on the labels so far, then its
    // suggestions for the open items, least confident first.
    await admin.goto(`${url}/projects/${PROJECT}`);
    const loop = admin.getByTestId('model-loop');
    await loop.waitFor();
    await loop.locator('input[type=number]').fill('2');
    await admin.getByTestId('retrain').click();
    await admin.getByTestId('retrain-status').waitFor();
    let loopStatus;
    for (const deadline = Date.now() + 120_000; ; await new Promise((r) => setTimeout(r, 500))) {
      loopStatus = await admin.evaluate(async (p) => (await fetch(`/api/v1/projects/${p}/suggestions`)).json(), PROJECT);
      const s = loopStatus;
      if (s.retrain.state === 'failed') break;
      if (s.retrain.state === 'done' && s.model && s.open > 0 && s.scored === s.open && !s.running) break;
      check(Date.now() < deadline, `retrain and scoring did not end in 2 minutes: ${JSON.stringify(s)}`);
    }
    check(loopStatus.retrain.state === 'done', `retrain ended ${loopStatus.retrain.state}: ${loopStatus.retrain.error}`);
    await admin.reload();
    await admin.getByTestId('model-loop').getByText(loopStatus.model).first().waitFor();
    await admin.screenshot({ path: `${shots}/10-retrain.png` });
    done.retrained = loopStatus.model;

    // ann sees a suggestion and accepts it with Enter.
    await ann.goto(`${url}/projects/${PROJECT}/label`);
    await ann.locator('[data-testid=label-item], [data-testid=grid-cell]').first().waitFor();
    if (await ann.locator('[data-testid=grid-cell]').count()) await ann.keyboard.press('g');  // the grid was remembered
    const suggestion = ann.getByTestId('suggestion');
    await suggestion.waitFor();
    const suggested = (await suggestion.locator('strong').innerText()).trim();
    const accepted = await currentItem(ann);
    await ann.screenshot({ path: `${shots}/11-suggestion.png` });
    await ann.keyboard.press('Enter');
    await ann.waitForFunction((prev) => {
      const el = document.querySelector('[data-testid=label-item]');
      return !el || el.getAttribute('data-item-id') !== prev;
    }, accepted);
    await waitSaved(ann);
    const history = await ann.evaluate(async (p) => (await fetch(`/api/v1/projects/${p}/annotations?mine=1&limit=5`)).json(), PROJECT);
    const entry = (history.annotations ?? []).find((h) => h.item_id === accepted);
    check(entry && entry.label === suggested, `Enter saved the suggestion ${suggested} for ${accepted}: ${JSON.stringify(entry)}`);
    done.accepted = suggested;
    done.flagged = flagged;
    console.log(JSON.stringify({ ok: true, ...done }));
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(`web_e2e: FAIL: ${e instanceof Fail ? e.message : e.stack || e}`);
  process.exit(1);
});
