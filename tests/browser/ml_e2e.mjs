// Runs, models and the evaluation explorer in headless Chromium, against a
// running `fsml serve` whose workspace has project toy (labels a, b, c, some
// of them wrong) at toy@v1, runs 1 and 2 registered as toy/1 and toy/2, an
// evaluation of toy/1 on toy@v1's test split, and the admin (password in
// argv): the admin opens the runs list and a run's curves, compares the two
// runs, promotes toy/2 to production through the gate's dialog, starts an
// evaluation of toy/2 from the web, opens the explorer of toy/1's, clicks
// the largest off-diagonal cell, sees its items, sends one to review and
// finds it in the project's review queue, and compares the two evaluations.
//
//   node tests/browser/ml_e2e.mjs URL ADMIN_PASSWORD SHOTS_DIR
//
// Prints one JSON line with what it did and exits 0, or "ml_e2e: FAIL: ..." and 1.
import { mkdirSync } from 'node:fs';

import { Fail, check, launch, login } from './lib.mjs';

const [url, adminPassword, shots] = process.argv.slice(2);
if (!shots) {
  console.error('usage: ml_e2e.mjs URL ADMIN_PASSWORD SHOTS_DIR');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

async function main() {
  const browser = await launch();
  const done = {};
  let page;
  try {
    page = await login(browser, url, 'admin', adminPassword);
    const api = (path) => page.evaluate(async (p) => (await fetch(p)).json(), path);

    // The runs list, and a run with its curves drawn.
    await page.goto(`${url}/runs`);
    const table = page.getByTestId('runs-table');
    await table.waitFor();
    check((await table.locator('tbody tr').count()) === 2, 'the runs list shows both runs');
    await page.screenshot({ path: `${shots}/01-runs.png` });
    await table.getByRole('link', { name: '#2', exact: true }).click();
    await page.waitForFunction(() => location.pathname === '/runs/2');
    for (const chart of ['chart-loss', 'chart-accuracy', 'chart-lr']) {
      await page.getByTestId(chart).locator('canvas').first().waitFor();
      const drawn = await page.getByTestId(chart).locator('canvas').first().evaluate((c) => c.width > 0 && c.height > 0);
      check(drawn, `${chart} has a canvas`);
    }
    await page.screenshot({ path: `${shots}/02-run.png`, fullPage: true });

    // Two runs compared: overlaid curves and a parameter diff.
    await page.goto(`${url}/runs/compare?ids=1,2`);
    const diff = page.getByTestId('param-diff');
    await diff.waitFor();
    check((await diff.innerText()).includes('epochs'), 'the param diff names the epochs, which differ');
    await page.screenshot({ path: `${shots}/03-compare.png`, fullPage: true });

    // Promote toy/2 through the gate's confirmation.
    await page.goto(`${url}/models/toy`);
    await page.getByTestId('versions-table').waitFor();
    await page.getByRole('button', { name: 'Set an alias on version 2' }).click();
    const dialog = page.getByTestId('alias-dialog');
    await dialog.waitFor();
    await dialog.getByTestId('gate-answer').getByText('The production gate passes').waitFor();
    await page.screenshot({ path: `${shots}/04-promote.png` });
    await dialog.getByRole('button', { name: 'Point production at version 2' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const model = await api('/api/v1/registry/toy');
    const v2 = model.versions.find((v) => v.version === 2);
    check(v2 && v2.aliases.includes('production'), `toy/2 is production: ${JSON.stringify(model.versions.map((v) => [v.version, v.aliases]))}`);
    done.promoted = 'toy/2';

    // Start an evaluation of toy/2 from the web and wait for it.
    await page.goto(`${url}/evaluations`);
    await page.getByTestId('new-evaluation').waitFor();
    await page.getByTestId('new-eval-model').selectOption({ label: 'toy/2' }).catch(async () => {
      await page.getByTestId('new-eval-model').fill('toy/2');
    });
    await page.getByTestId('start-evaluation').click();
    await page.getByTestId('evaluation-row-2').waitFor({ timeout: 60_000 });
    done.started_evaluation = 2;

    // The explorer of evaluation 1: the largest off-diagonal cell and its items.
    await page.goto(`${url}/evaluations/1`);
    const matrix = page.getByTestId('confusion-matrix');
    await matrix.waitFor();
    const cells = await matrix.locator('button.cm-cell').evaluateAll((els) =>
      els.map((b) => ({ t: Number(b.dataset.t), p: Number(b.dataset.p), n: Number(b.textContent.replace(/,/g, '')), id: b.dataset.testid })));
    const off = cells.filter((c) => c.t !== c.p).sort((a, b) => b.n - a.n)[0];
    check(off && off.n > 0, `the model makes mistakes: ${JSON.stringify(cells)}`);
    await page.getByTestId(off.id).click();
    const grid = page.locator('[data-testid=cell-items]');
    await grid.locator('[data-testid^=eval-item-]').first().waitFor();
    const shown = await grid.locator('[data-testid^=eval-item-]').count();
    check(shown === Math.min(off.n, 48), `the cell's grid shows its ${off.n} items (first page): ${shown}`);
    await page.screenshot({ path: `${shots}/05-explorer.png`, fullPage: true });
    const first = grid.locator('[data-testid^=eval-item-]').first();
    const itemId = (await first.getAttribute('data-testid')).slice('eval-item-'.length);
    await first.locator('input[type=checkbox]').check();
    await page.getByTestId('send-to-review').click();
    await page.getByTestId('action-done').waitFor();
    done.sent_to_review = itemId;

    // The item is in the project's review queue, with the reason.
    const queue = await api('/api/v1/projects/toy/review?limit=200');
    check(queue.items.some((r) => r.item_id === itemId), `review queue holds ${itemId}`);
    await page.goto(`${url}/projects/toy/review`);
    const review = page.getByTestId('review-item');
    await review.waitFor();
    check((await review.getAttribute('data-item-id')) === itemId, 'the review page shows the sent item');
    await page.screenshot({ path: `${shots}/06-review.png` });

    // The two evaluations side by side.
    await page.goto(`${url}/evaluations/compare?a=1&b=2`);
    await page.getByText(/fixed/i).first().waitFor();
    await page.screenshot({ path: `${shots}/07-eval-compare.png`, fullPage: true });
    console.log(JSON.stringify({ ok: true, ...done }));
  } catch (e) {
    await page?.screenshot({ path: `${shots}/failure.png`, fullPage: true }).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  console.error(`ml_e2e: FAIL: ${e instanceof Fail ? e.message : e.stack || e}`);
  process.exit(1);
});
