// /runs/:id: a run's status, live curves (every 2 s while it runs),
// hyperparameters, dataset version, log tail, artifacts and model versions.

import { useEffect, useState } from 'preact/hooks';
import { errorMessage } from '../api/client';
import { bytes, duration, fmt, runs, type RunDetail } from '../api/runs';
import { ErrorBox, Loading, PageTitle, useTitle } from '../components/common';
import { formatDate } from '../lib/format';
import { Link } from '../lib/router';
import { EpochChart, finalValues, type Series } from './run-chart';
import { StatusPill } from './runs';
import './runs.css';

export function RunPage({ id }: { id: string }) {
  useTitle(`Run ${id}`);
  const [run, setRun] = useState<RunDetail | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    let timer = 0;
    const load = async () => {
      try {
        const r = await runs.get(id);
        if (!live) return;
        setRun(r);
        setError(null);
        if (r.status === 'running') timer = window.setTimeout(load, 2000);
      } catch (e) {
        if (live) setError(errorMessage(e));
      }
    };
    void load();
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [id]);

  if (!run) {
    return (
      <section>
        <PageTitle>Run {id}</PageTitle>
        <ErrorBox error={error} />
        {!error && <Loading what="the run" />}
      </section>
    );
  }
  const xs = run.epochs.map((e) => e.epoch);
  const loss: Series[] = [
    { label: 'train loss', values: run.epochs.map((e) => e.train_loss) },
    { label: 'val loss', values: run.epochs.map((e) => e.val_loss) },
  ];
  const acc: Series[] = [
    { label: 'train accuracy', values: run.epochs.map((e) => e.train_accuracy) },
    { label: 'val accuracy', values: run.epochs.map((e) => e.val_accuracy) },
  ];
  const lr: Series[] = [{ label: 'learning rate', values: run.epochs.map((e) => e.learning_rate) }];
  const dv = run.dataset_version;

  return (
    <section>
      <PageTitle>
        Run #{run.id}: {run.model} on {run.dataset} <StatusPill status={run.status} />
      </PageTitle>
      <p class="muted">
        <Link href="/runs">All runs</Link> · started {formatDate(run.started_at)}
        {run.ended_at && `, ended ${formatDate(run.ended_at)}`} · epoch {run.epochs_done} of {run.epochs_planned ?? '?'} ·{' '}
        {duration(run.seconds)} of training
        {run.status === 'running' && <span role="status"> · updating every 2 seconds</span>}
      </p>
      <ErrorBox error={run.error} />
      <ErrorBox error={error} />
      <div class="run-charts">
        <EpochChart title="Loss" xs={xs} series={loss} caption={finalValues(xs, loss)} testId="chart-loss" />
        <EpochChart title="Accuracy" xs={xs} series={acc} caption={finalValues(xs, acc)} testId="chart-accuracy" />
        <EpochChart title="Learning rate" xs={xs} series={lr} caption={finalValues(xs, lr, 6)} testId="chart-lr" />
      </div>
      <div class="run-grid">
        <div class="card">
          <h2>Hyperparameters</h2>
          <table class="table">
            <tbody>
              {Object.entries(run.params).map(([k, v]) => (
                <tr key={k}>
                  <th scope="row">{k}</th>
                  <td>{JSON.stringify(v)}</td>
                </tr>
              ))}
              <tr>
                <th scope="row">model parameters</th>
                <td>{JSON.stringify((run.spec as { params?: unknown }).params ?? {})}</td>
              </tr>
            </tbody>
          </table>
        </div>
        <div class="card">
          <h2>Provenance</h2>
          <table class="table">
            <tbody>
              <tr>
                <th scope="row">dataset version</th>
                <td>
                  <Link href={`/projects/${encodeURIComponent(dv.project)}/versions`}>
                    {dv.project}@v{dv.number}
                  </Link>
                </td>
              </tr>
              <tr>
                <th scope="row">seed</th>
                <td>{run.seed}</td>
              </tr>
              <tr>
                <th scope="row">code version</th>
                <td>{run.code_version}</td>
              </tr>
              <tr>
                <th scope="row">host</th>
                <td>{run.host}</td>
              </tr>
              <tr>
                <th scope="row">best val accuracy</th>
                <td>
                  {fmt(run.best_val_accuracy)} {run.best_epoch ? `(epoch ${run.best_epoch})` : ''}
                </td>
              </tr>
              <tr>
                <th scope="row">test accuracy</th>
                <td>{fmt(run.test_accuracy)}</td>
              </tr>
            </tbody>
          </table>
        </div>
      </div>
      <h2>Epochs</h2>
      <div class="table-scroll">
        <table class="table">
          <thead>
            <tr>
              <th class="num">Epoch</th>
              <th class="num">Train loss</th>
              <th class="num">Train acc</th>
              <th class="num">Val loss</th>
              <th class="num">Val acc</th>
              <th class="num">LR</th>
              <th class="num">Samples/s</th>
              <th class="num">Seconds</th>
            </tr>
          </thead>
          <tbody>
            {run.epochs.map((e) => (
              <tr key={e.epoch}>
                <td class="num">{e.epoch}</td>
                <td class="num">{fmt(e.train_loss)}</td>
                <td class="num">{fmt(e.train_accuracy)}</td>
                <td class="num">{fmt(e.val_loss)}</td>
                <td class="num">{fmt(e.val_accuracy)}</td>
                <td class="num">{e.learning_rate.toExponential(2)}</td>
                <td class="num">{Math.round(e.samples_per_second).toLocaleString()}</td>
                <td class="num">{e.seconds.toFixed(1)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="run-grid">
        <div class="card">
          <h2>Artifacts</h2>
          {run.artifacts.checkpoints.length === 0 && <p class="muted">No checkpoint yet.</p>}
          <ul>
            {run.artifacts.checkpoints.map((c) => (
              <li key={c.epoch}>
                <a href={c.download} download>
                  Checkpoint of epoch {c.epoch}
                </a>{' '}
                ({bytes(c.bytes)}){c.best && <strong> best</strong>} <code class="muted small">{c.key.slice(0, 12)}</code>
              </li>
            ))}
          </ul>
          <h3>Registered model versions</h3>
          {run.artifacts.model_versions.length === 0 ? (
            <p class="muted">None yet (fsml models register {run.id}).</p>
          ) : (
            <ul>
              {run.artifacts.model_versions.map((v) => (
                <li key={`${v.name}/${v.number}`}>
                  <Link href={`/models/${encodeURIComponent(v.name)}`}>
                    {v.name}/{v.number}
                  </Link>{' '}
                  from epoch {v.epoch}
                  {v.aliases.length > 0 && ` (${v.aliases.join(', ')})`}
                </li>
              ))}
            </ul>
          )}
        </div>
        <div class="card">
          <h2>Log</h2>
          <pre class="run-log" tabIndex={0} aria-label="Run log, last lines">
            {run.log || 'No log lines.'}
          </pre>
        </div>
      </div>
    </section>
  );
}
