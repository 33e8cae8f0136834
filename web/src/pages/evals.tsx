// Evaluations: every stored evaluation, newest first, and "New evaluation"
// (reviewers): a model version on a dataset version's split, run by the
// server in the background with its progress shown until it is done.

import { useEffect, useRef, useState } from 'preact/hooks';
import { errorMessage } from '../api/client';
import { evals, type EvalJob, type EvalSummary } from '../api/evals';
import { versions as versionsApi } from '../api/endpoints';
import { registry } from '../api/runs';
import { ErrorBox, Loading, PageTitle, useTitle } from '../components/common';
import { announce } from '../lib/announce';
import { formatTime } from '../lib/format';
import { Link, navigate } from '../lib/router';
import { hasRole, useSession } from '../lib/session';
import './evals.css';

export function fmt(v: number, digits = 3): string {
  return Number.isFinite(v) ? v.toFixed(digits) : '–';
}

const STAGES = ['queued', 'loading model', 'predicting', 'label issues', 'saving'];

function JobProgress({ job }: { job: EvalJob }) {
  const stage = job.state === 'queued' ? 'queued' : job.stage ?? job.state;
  const at = Math.max(0, STAGES.indexOf(stage));
  return (
    <li class="eval-job" data-testid={`eval-job-${job.id}`}>
      <span>
        <strong>{job.model}</strong> on {job.data} {job.split}
      </span>
      {job.state === 'failed' ? (
        <span class="error-text" role="alert">
          Failed: {job.error}
        </span>
      ) : job.state === 'done' && job.evaluation_id ? (
        <Link href={`/evaluations/${job.evaluation_id}`}>Evaluation #{job.evaluation_id}</Link>
      ) : (
        <span role="status" class="eval-job-stage">
          <progress max={STAGES.length} value={at + 1} aria-label={`Evaluation job ${job.id}: ${stage}`} /> {stage}…
        </span>
      )}
    </li>
  );
}

function NewEvaluation({ onStarted }: { onStarted: (job: EvalJob) => void }) {
  const [models, setModels] = useState<{ ref: string; project: string }[] | null>(null);
  const [model, setModel] = useState('');
  const [versions, setVersions] = useState<{ number: number }[]>([]);
  const [data, setData] = useState('');
  const [split, setSplit] = useState('test');
  const [issues, setIssues] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    registry
      .list()
      .then((r) => {
        const refs: { ref: string; project: string }[] = [];
        for (const m of r.models) {
          for (const alias of Object.keys(m.aliases)) refs.push({ ref: `${m.name}@${alias}`, project: m.project });
          for (let n = m.latest; n >= 1 && n > m.latest - 10; n--) refs.push({ ref: `${m.name}/${n}`, project: m.project });
        }
        setModels(refs);
        if (refs[0]) setModel(refs[0].ref);
      })
      .catch((e) => setError(errorMessage(e)));
  }, []);
  const project = models?.find((m) => m.ref === model)?.project ?? '';
  useEffect(() => {
    if (!project) return;
    versionsApi
      .list(project)
      .then((r) => {
        setVersions(r.versions);
        setData('');
      })
      .catch((e) => setError(errorMessage(e)));
  }, [project]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const job = await evals.start({ model, data: data || project, split, label_issues: issues });
      announce(`Evaluation of ${job.model} on ${job.data} started`);
      onStarted(job);
    } catch (err) {
      setError(errorMessage(err));
    }
    setBusy(false);
  };

  if (models === null) return error ? <ErrorBox error={error} /> : <Loading what="models" />;
  if (models.length === 0) return <p class="muted">No registered models yet: register one to evaluate it.</p>;
  return (
    <form class="card eval-new" onSubmit={submit} data-testid="new-evaluation">
      <h2>New evaluation</h2>
      <div class="eval-new-fields">
        <label class="field">
          <span>Model</span>
          <select value={model} onChange={(e) => setModel((e.target as HTMLSelectElement).value)} data-testid="new-eval-model">
            {models.map((m) => (
              <option key={m.ref} value={m.ref}>
                {m.ref}
              </option>
            ))}
          </select>
        </label>
        <label class="field">
          <span>Data version</span>
          <select value={data} onChange={(e) => setData((e.target as HTMLSelectElement).value)} data-testid="new-eval-data">
            <option value="">{project} (latest)</option>
            {versions.map((v) => (
              <option key={v.number} value={`${project}@v${v.number}`}>
                {project}@v{v.number}
              </option>
            ))}
          </select>
        </label>
        <label class="field">
          <span>Split</span>
          <select value={split} onChange={(e) => setSplit((e.target as HTMLSelectElement).value)} data-testid="new-eval-split">
            <option value="test">test</option>
            <option value="val">val</option>
            <option value="train">train</option>
          </select>
        </label>
        <label class="eval-check">
          <input type="checkbox" checked={issues} onChange={(e) => setIssues((e.target as HTMLInputElement).checked)} />
          Find suspected label errors (trains 5 models; slow)
        </label>
      </div>
      <ErrorBox error={error} />
      <button type="submit" class="primary" disabled={busy || !model} data-testid="start-evaluation">
        Evaluate
      </button>
    </form>
  );
}

export function EvaluationsPage() {
  useTitle('Evaluations');
  const session = useSession();
  const [list, setList] = useState<EvalSummary[] | null>(null);
  const [jobs, setJobs] = useState<EvalJob[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    evals
      .list()
      .then((r) => setList(r.evaluations))
      .catch((e) => setError(errorMessage(e)));
  }, [tick]);
  // Jobs poll, every second while one is unfinished or was just started;
  // a job that has made an evaluation not listed yet refreshes the list.
  const started = useRef(0);
  useEffect(() => {
    let stop = false;
    let timer = 0;
    let known: Set<number> | null = null;
    const poll = async () => {
      try {
        const r = await evals.jobs();
        if (stop) return;
        setJobs(r.jobs.slice(0, 10));
        const made = r.jobs.map((j) => j.evaluation_id).filter((id): id is number => typeof id === 'number');
        if (known && made.some((id) => !known!.has(id))) setTick((t) => t + 1);
        known = new Set(made);
        const busy = r.jobs.some((j) => j.state === 'queued' || j.state === 'running');
        timer = window.setTimeout(poll, busy || Date.now() - started.current < 10_000 ? 1000 : 5000);
      } catch (e) {
        if (!stop) setError(errorMessage(e));
      }
    };
    void poll();
    return () => {
      stop = true;
      window.clearTimeout(timer);
    };
  }, []);

  return (
    <section class="evals-page">
      <PageTitle>Evaluations</PageTitle>
      <ErrorBox error={error} onDismiss={() => setError(null)} />
      {hasRole(session?.user, 'reviewer') && <NewEvaluation
          onStarted={(j) => {
            started.current = Date.now();
            setJobs((js) => [j, ...js]);
          }}
        />}
      {jobs.length > 0 && (
        <section aria-label="Recent evaluation jobs">
          <h2 class="small-heading">Running and recent</h2>
          <ul class="plain-list eval-jobs" aria-live="polite">
            {jobs.map((j) => (
              <JobProgress key={j.id} job={j} />
            ))}
          </ul>
        </section>
      )}
      {list === null ? (
        <Loading what="evaluations" />
      ) : list.length === 0 ? (
        <p class="empty">No evaluations yet. Evaluate a model here or with fsml eval.</p>
      ) : (
        <div class="table-scroll">
          <table class="table" data-testid="evaluations-table">
            <caption class="sr-only">Evaluations, newest first</caption>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Model</th>
                <th scope="col">Data</th>
                <th scope="col">Split</th>
                <th scope="col" class="num">Items</th>
                <th scope="col" class="num">Accuracy</th>
                <th scope="col" class="num">Macro F1</th>
                <th scope="col" class="num">ECE</th>
                <th scope="col">Requirements</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {list.map((e) => (
                <tr key={e.id} data-testid={`evaluation-row-${e.id}`}>
                  <td>
                    <Link href={`/evaluations/${e.id}`}>#{e.id}</Link>
                  </td>
                  <td>{e.model}</td>
                  <td>{e.dataset}</td>
                  <td>{e.split}</td>
                  <td class="num">{e.items.toLocaleString()}</td>
                  <td class="num">{fmt(e.accuracy)}</td>
                  <td class="num">{fmt(e.macro_f1)}</td>
                  <td class="num">{fmt(e.ece)}</td>
                  <td>{e.requirements === 0 ? '–' : e.passed ? 'pass' : <strong class="error-text">fail</strong>}</td>
                  <td>{formatTime(e.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list && list.length >= 2 && (
        <p>
          <button type="button" class="link-button" onClick={() => navigate(`/evaluations/compare?a=${list[1]!.id}&b=${list[0]!.id}`)}>
            Compare the latest two
          </button>
        </p>
      )}
    </section>
  );
}
