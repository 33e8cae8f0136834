// /runs/compare?ids=…: the runs' curves overlaid, and their parameters with
// the differing ones highlighted.

import { useEffect, useState } from 'preact/hooks';
import { errorMessage } from '../api/client';
import { fmt, runs, type CompareResult } from '../api/runs';
import { ErrorBox, Loading, PageTitle, useTitle } from '../components/common';
import { Link, useLocation } from '../lib/router';
import { EpochChart, finalValues, type Series } from './run-chart';
import './runs.css';

export function RunsComparePage() {
  useTitle('Compare runs');
  const loc = useLocation();
  const ids = (loc.query.get('ids') ?? '')
    .split(',')
    .map((s) => Number.parseInt(s, 10))
    .filter((n) => Number.isFinite(n));
  const key = ids.join(',');
  const [data, setData] = useState<CompareResult | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    setData(null);
    setError(null);
    runs
      .compare(ids)
      .then(setData)
      .catch((e) => setError(errorMessage(e)));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  if (!data) {
    return (
      <section>
        <PageTitle>Compare runs</PageTitle>
        <ErrorBox error={error} />
        {!error && <Loading what="the runs" />}
      </section>
    );
  }
  const longest = Math.max(0, ...data.runs.map((r) => r.epochs.length));
  const xs = Array.from({ length: longest }, (_, i) => i + 1);
  const curve = (pick: (e: CompareResult['runs'][0]['epochs'][0]) => number | null): Series[] =>
    data.runs.map((r) => ({
      label: `#${r.id}`,
      values: xs.map((x) => {
        const e = r.epochs.find((ep) => ep.epoch === x);
        return e ? pick(e) : null;
      }),
    }));
  const valAcc = curve((e) => e.val_accuracy);
  const trainLoss = curve((e) => e.train_loss);
  const valLoss = curve((e) => e.val_loss);
  const keys = [...new Set([...Object.keys(data.params.differing), ...Object.keys(data.params.common)])].sort();

  return (
    <section>
      <PageTitle>Compare runs {data.runs.map((r) => `#${r.id}`).join(', ')}</PageTitle>
      <p>
        <Link href="/runs">All runs</Link>
      </p>
      <div class="run-charts">
        <EpochChart title="Val accuracy" xs={xs} series={valAcc} caption={finalValues(xs, valAcc)} />
        <EpochChart title="Train loss" xs={xs} series={trainLoss} caption={finalValues(xs, trainLoss)} />
        <EpochChart title="Val loss" xs={xs} series={valLoss} caption={finalValues(xs, valLoss)} />
      </div>
      <h2>Results</h2>
      <div class="table-scroll">
        <table class="table">
          <thead>
            <tr>
              <th>Run</th>
              <th>Status</th>
              <th class="num">Epochs</th>
              <th class="num">Best val acc</th>
              <th class="num">Test acc</th>
            </tr>
          </thead>
          <tbody>
            {data.runs.map((r) => (
              <tr key={r.id}>
                <td>
                  <Link href={`/runs/${r.id}`}>#{r.id}</Link> {r.model} on {r.dataset}
                </td>
                <td>{r.status}</td>
                <td class="num">{r.epochs_done}</td>
                <td class="num">{fmt(r.best_val_accuracy)}</td>
                <td class="num">{fmt(r.test_accuracy)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>Parameters</h2>
      <p class="muted small">{Object.keys(data.params.differing).length} of {keys.length} differ (highlighted).</p>
      <div class="table-scroll">
        <table class="table" data-testid="param-diff">
          <thead>
            <tr>
              <th>Parameter</th>
              {data.runs.map((r) => (
                <th key={r.id}>#{r.id}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => {
              const diff = data.params.differing[k];
              return (
                <tr key={k} class={diff ? 'diff-row' : undefined}>
                  <th scope="row">
                    {k}
                    {diff && <span class="sr-only"> (differs)</span>}
                  </th>
                  {data.runs.map((r, i) => (
                    <td key={r.id}>{JSON.stringify(diff ? diff[i] : data.params.common[k])}</td>
                  ))}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}
