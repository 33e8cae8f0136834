// /runs: the run list with filters, sortable columns, pages, a selection to
// compare, the trainings started from the app, and "New run".

import { useEffect, useState } from 'preact/hooks';
import { errorMessage } from '../api/client';
import { projects as projectsApi, versions as versionsApi } from '../api/endpoints';
import { duration, fmt, runs, type RunPage, type TrainRequest, type Training } from '../api/runs';
import type { Project, Version } from '../api/types';
import { ErrorBox, Loading, PageTitle, useTitle } from '../components/common';
import { Modal } from '../components/modal';
import { announce } from '../lib/announce';
import { formatDate } from '../lib/format';
import { Link, navigate, useLocation } from '../lib/router';
import { hasRole, useSession } from '../lib/session';
import './runs.css';

const PAGE = 25;
const MODELS = ['mlp', 'cnn-small', 'resnet'];

export function StatusPill({ status }: { status: string }) {
  return <span class={`status-pill status-${status}`}>{status}</span>;
}

type SortKey = 'started_at' | 'accuracy' | 'duration';

export function RunsPage() {
  useTitle('Runs');
  const loc = useLocation();
  const session = useSession();
  const q = loc.query;
  const filter = {
    project: q.get('project') ?? '',
    model: q.get('model') ?? '',
    status: q.get('status') ?? '',
    sort: q.get('sort') ?? '-started_at',
    offset: Number.parseInt(q.get('offset') ?? '0', 10) || 0,
  };
  const [page, setPage] = useState<RunPage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<number[]>([]);
  const [projects, setProjects] = useState<Project[]>([]);
  const [trainings, setTrainings] = useState<Training[]>([]);
  const [showNew, setShowNew] = useState(false);

  const set = (changes: Record<string, string | number>) => {
    const next = new URLSearchParams(q);
    for (const [k, v] of Object.entries(changes)) {
      if (v === '' || v === 0) next.delete(k);
      else next.set(k, String(v));
    }
    if (!('offset' in changes)) next.delete('offset');
    const s = next.toString();
    navigate(`/runs${s ? '?' + s : ''}`, { replace: true });
  };

  useEffect(() => {
    let live = true;
    const load = () =>
      runs
        .list({ ...filter, limit: PAGE })
        .then((p) => live && (setPage(p), setError(null)))
        .catch((e) => live && setError(errorMessage(e)));
    void load();
    // Running runs move; the list follows them every few seconds.
    const t = window.setInterval(() => {
      void load();
      runs.trainings().then((t) => live && setTrainings(t.trainings)).catch(() => undefined);
    }, 5000);
    return () => {
      live = false;
      window.clearInterval(t);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [loc.url]);

  useEffect(() => {
    projectsApi.list().then((r) => setProjects(r.projects)).catch(() => undefined);
    runs.trainings().then((t) => setTrainings(t.trainings)).catch(() => undefined);
  }, []);

  const sortBy = (key: SortKey) => set({ sort: filter.sort === `-${key}` ? key : `-${key}` });
  const sortMark = (key: SortKey) => (filter.sort === key ? 'ascending' : filter.sort === `-${key}` ? 'descending' : undefined);
  const toggle = (id: number) =>
    setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : s.length >= 5 ? s : [...s, id]));
  const waiting = trainings.filter((t) => t.state === 'queued' || t.state === 'starting');

  const SortHeader = ({ k, children, num }: { k: SortKey; children: string; num?: boolean }) => (
    <th aria-sort={sortMark(k) ?? 'none'} class={num ? 'num' : undefined}>
      <button type="button" class="sort-button" onClick={() => sortBy(k)}>
        {children} {sortMark(k) === 'ascending' ? '▲' : sortMark(k) === 'descending' ? '▼' : ''}
      </button>
    </th>
  );

  return (
    <section>
      <PageTitle>Runs</PageTitle>
      <div class="runs-filters" role="search" aria-label="Filter runs">
        <label>
          Project
          <select value={filter.project} onChange={(e) => set({ project: e.currentTarget.value })}>
            <option value="">All projects</option>
            {projects.map((p) => (
              <option key={p.name} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Model
          <select value={filter.model} onChange={(e) => set({ model: e.currentTarget.value })}>
            <option value="">All models</option>
            {MODELS.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </label>
        <label>
          Status
          <select value={filter.status} onChange={(e) => set({ status: e.currentTarget.value })}>
            <option value="">Any status</option>
            {['running', 'finished', 'failed', 'interrupted'].map((s) => (
              <option key={s}>{s}</option>
            ))}
          </select>
        </label>
      </div>
      <div class="runs-actions">
        <button
          type="button"
          disabled={selected.length < 2}
          onClick={() => navigate(`/runs/compare?ids=${selected.join(',')}`)}
          data-testid="compare-runs"
        >
          Compare {selected.length ? `(${selected.length})` : ''}
        </button>
        <span class="muted small">Select 2 to 5 runs to compare.</span>
        {hasRole(session?.user, 'reviewer') && (
          <button type="button" class="secondary" onClick={() => setShowNew(true)} data-testid="new-run">
            New run
          </button>
        )}
      </div>
      {waiting.length > 0 && (
        <p role="status" class="card">
          Waiting to train:{' '}
          {waiting.map((t) => `${t.model} on ${t.data} (${t.state === 'queued' ? 'queued behind another training' : 'loading data'})`).join('; ')}
        </p>
      )}
      <ErrorBox error={error} />
      {!page && !error && <Loading what="runs" />}
      {page && (
        <>
          <p class="muted small" role="status">
            {page.total.toLocaleString()} runs{page.total > 0 && `, ${page.offset + 1}–${page.offset + page.runs.length} shown`}
          </p>
          <div class="table-scroll">
            <table class="table" data-testid="runs-table">
              <thead>
                <tr>
                  <th>
                    <span class="sr-only">Compare</span>
                  </th>
                  <th>Run</th>
                  <th>Project</th>
                  <th>Model</th>
                  <th>Status</th>
                  <SortHeader k="started_at">Started</SortHeader>
                  <th class="num">Epochs</th>
                  <SortHeader k="accuracy" num>
                    Best val acc
                  </SortHeader>
                  <th class="num">Test acc</th>
                  <SortHeader k="duration" num>
                    Duration
                  </SortHeader>
                  <th>Registered</th>
                </tr>
              </thead>
              <tbody>
                {page.runs.map((r) => (
                  <tr key={r.id}>
                    <td>
                      <input
                        type="checkbox"
                        aria-label={`Compare run ${r.id}`}
                        checked={selected.includes(r.id)}
                        disabled={!selected.includes(r.id) && selected.length >= 5}
                        onChange={() => toggle(r.id)}
                      />
                    </td>
                    <td>
                      <Link href={`/runs/${r.id}`}>#{r.id}</Link>
                    </td>
                    <td>
                      <Link href={`/projects/${encodeURIComponent(r.project)}/versions`}>{r.dataset}</Link>
                    </td>
                    <td>{r.model}</td>
                    <td>
                      <StatusPill status={r.status} />
                    </td>
                    <td>{formatDate(r.started_at)}</td>
                    <td class="num">
                      {r.epochs_done}/{r.epochs_planned ?? '?'}
                    </td>
                    <td class="num">{fmt(r.best_val_accuracy)}</td>
                    <td class="num">{fmt(r.test_accuracy)}</td>
                    <td class="num">{duration(r.seconds)}</td>
                    <td>
                      {r.model_versions.map((v) => (
                        <Link key={v} href={`/models/${encodeURIComponent(v.split('/')[0]!)}`}>
                          {v}{' '}
                        </Link>
                      ))}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav class="pager" aria-label="Pages">
            <button type="button" class="secondary small" disabled={page.offset === 0} onClick={() => set({ offset: Math.max(0, page.offset - PAGE) })}>
              Previous
            </button>
            <button
              type="button"
              class="secondary small"
              disabled={page.offset + page.runs.length >= page.total}
              onClick={() => set({ offset: page.offset + PAGE })}
            >
              Next
            </button>
          </nav>
        </>
      )}
      {showNew && <NewRunDialog projects={projects} onClose={() => setShowNew(false)} />}
    </section>
  );
}

// The options of `fsml train`; empty fields take the model's recipe.
function NewRunDialog({ projects, onClose }: { projects: Project[]; onClose: () => void }) {
  const images = projects.filter((p) => p.task_type === 'image-classification');
  const [project, setProject] = useState(images[0]?.name ?? '');
  const [versions, setVersions] = useState<Version[]>([]);
  const [version, setVersion] = useState('');
  const [model, setModel] = useState('cnn-small');
  const [fields, setFields] = useState<Record<string, string>>({});
  const [evaluateTest, setEvaluateTest] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    setVersions([]);
    setVersion('');
    if (!project) return;
    versionsApi
      .list(project)
      .then((r) => {
        setVersions(r.versions);
        setVersion(r.versions[0] ? String(r.versions[0].number) : '');
      })
      .catch((e) => setError(errorMessage(e)));
  }, [project]);

  const num = (k: string, label: string, step = 'any', min?: number) => (
    <label>
      {label}
      <input
        type="number"
        step={step}
        min={min}
        value={fields[k] ?? ''}
        placeholder="recipe"
        onInput={(e) => setFields({ ...fields, [k]: e.currentTarget.value })}
      />
    </label>
  );

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const body: TrainRequest = { data: `${project}@v${version}`, model, evaluate_test: evaluateTest };
    for (const k of ['epochs', 'batch_size', 'warmup_epochs', 'patience', 'seed']) {
      if (fields[k]) (body as unknown as Record<string, unknown>)[k] = Number.parseInt(fields[k]!, 10);
    }
    for (const k of ['lr', 'weight_decay', 'momentum', 'label_smoothing']) {
      if (fields[k]) (body as unknown as Record<string, unknown>)[k] = Number.parseFloat(fields[k]!);
    }
    if (fields.optimizer) body.optimizer = fields.optimizer;
    if (fields.schedule) body.schedule = fields.schedule;
    if (fields.augment) body.augment = fields.augment;
    if (fields.model_params) {
      try {
        body.model_params = JSON.parse(fields.model_params) as Record<string, unknown>;
      } catch {
        setError('Model parameters must be JSON, e.g. {"hidden": [256, 128]}');
        return;
      }
    }
    setBusy(true);
    try {
      const r = await runs.start(body);
      if (r.run_id) {
        announce(`Run ${r.run_id} started`);
        navigate(`/runs/${r.run_id}`);
      } else {
        announce('The training is queued behind another one');
        onClose();
      }
    } catch (err) {
      setError(errorMessage(err));
    }
    setBusy(false);
  };

  return (
    <Modal title="New training run" onClose={onClose} testId="new-run" class="wide">
      <form onSubmit={submit}>
        {images.length === 0 && <p>No image-classification project to train on yet.</p>}
        <div class="train-form">
          <label>
            Project
            <select value={project} onChange={(e) => setProject(e.currentTarget.value)} data-autofocus>
              {images.map((p) => (
                <option key={p.name}>{p.name}</option>
              ))}
            </select>
          </label>
          <label>
            Dataset version
            <select value={version} onChange={(e) => setVersion(e.currentTarget.value)} required>
              {versions.map((v) => (
                <option key={v.number} value={v.number}>
                  v{v.number}: {v.message} ({v.items} items)
                </option>
              ))}
            </select>
          </label>
          <label>
            Model
            <select value={model} onChange={(e) => setModel(e.currentTarget.value)}>
              {MODELS.map((m) => (
                <option key={m}>{m}</option>
              ))}
            </select>
          </label>
          <label>
            Model parameters (JSON)
            <input type="text" value={fields.model_params ?? ''} placeholder='{"width": 16}' onInput={(e) => setFields({ ...fields, model_params: e.currentTarget.value })} />
          </label>
          {num('epochs', 'Epochs', '1', 1)}
          {num('batch_size', 'Batch size', '1', 1)}
          {num('lr', 'Learning rate')}
          <label>
            Optimizer
            <select value={fields.optimizer ?? ''} onChange={(e) => setFields({ ...fields, optimizer: e.currentTarget.value })}>
              <option value="">recipe</option>
              <option>sgd</option>
              <option>adamw</option>
            </select>
          </label>
          {num('weight_decay', 'Weight decay')}
          {num('momentum', 'Momentum (SGD)')}
          <label>
            Schedule
            <select value={fields.schedule ?? ''} onChange={(e) => setFields({ ...fields, schedule: e.currentTarget.value })}>
              <option value="">recipe</option>
              <option>cosine</option>
              <option>step</option>
              <option>constant</option>
            </select>
          </label>
          {num('warmup_epochs', 'Warm-up epochs', '1', 0)}
          {num('label_smoothing', 'Label smoothing')}
          {num('patience', 'Early-stop patience', '1', 0)}
          {num('seed', 'Seed', '1', 0)}
          <label>
            Augmentation
            <input type="text" value={fields.augment ?? ''} placeholder="recipe; e.g. crop,flip or none" onInput={(e) => setFields({ ...fields, augment: e.currentTarget.value })} />
          </label>
          <label>
            <span>
              <input type="checkbox" checked={evaluateTest} onChange={(e) => setEvaluateTest(e.currentTarget.checked)} /> Evaluate the best epoch on the test split
            </span>
          </label>
        </div>
        <ErrorBox error={error} />
        <div class="runs-actions">
          <button type="submit" disabled={busy || !project || !version}>
            {busy ? 'Starting…' : 'Start training'}
          </button>
          <button type="button" class="secondary" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}
