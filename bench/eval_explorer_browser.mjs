// The evaluation page in headless Chromium: navigation to the confusion
// matrix visible, and a cell click to its item grid visible, median of N.
// Used by bench/eval_explorer_bench.py; node bench/eval_explorer_browser.mjs URL EVAL_ID TRUE PRED PASSWORD [N]
import { launch, login } from '../tests/browser/lib.mjs';

const [url, evalId, truth, pred, password, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 5);
const browser = await launch();
const page = await login(browser, url, 'admin', password);
const matrix = [];
const grid = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  await page.goto(`${url}/evaluations/${evalId}`);
  await page.getByTestId('confusion-matrix').waitFor({ state: 'visible' });
  matrix.push(performance.now() - t0);
  const t1 = performance.now();
  await page.getByTestId(`confusion-cell-${truth}-${pred}`).click();
  await page.getByTestId('cell-items-grid').locator('li').first().waitFor({ state: 'visible' });
  grid.push(performance.now() - t1);
}
await browser.close();
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
console.log(JSON.stringify({ runs, matrix_ms: median(matrix), grid_ms: median(grid), first_matrix_ms: matrix[0], first_grid_ms: grid[0] }));
