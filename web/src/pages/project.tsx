import { useEffect, useRef, useState } from 'preact/hooks';
import { errorMessage } from '../api/client';
import { projects as projectsApi } from '../api/endpoints';
import type { ImportResult, Project, ProjectDetail } from '../api/types';
import { DropZone, ErrorBox, Loading, PageTitle, ProgressBar, ProjectCrumbs, Swatch, Tabs, useTitle } from '../components/common';
import { GuidelinesEditor, type LabelRow, LabelsEditor, rowsToSpecs, toRows } from '../components/editors';
import { announce } from '../lib/announce';
import { count, percent } from '../lib/format';
import { Markdown } from '../lib/markdown';
import { Link, navigate, useLocation } from '../lib/router';
import { hasRole, useSession } from '../lib/session';
import { ModelLoopCard } from './model-loop';

type Tab = 'overview' | 'import' | 'settings';

function Overview({ project }: { project: ProjectDetail }) {
  const pr = project.progress;
  const perLabel = project.stats?.per_label ?? {};
  const annotators = project.stats?.per_annotator ?? [];
  const splits = Object.entries(project.stats?.per_split ?? {});
  const labeledTotal = Object.values(perLabel).reduce((a, b) => a + b, 0);
  return (
    <div class="overview">
      <div class="overview-main">
        <section class="card" aria-labelledby="progress-title">
          <h2 id="progress-title">Progress</h2>
          <ProgressBar label="Items with a final label" value={pr.labeled} max={pr.items} />
          <dl class="stats-row">
            <div><dt>Items</dt><dd>{pr.items.toLocaleString()}</dd></div>
            <div><dt>In review</dt><dd>{pr.in_review.toLocaleString()}</dd></div>
            <div><dt>Annotations</dt><dd>{pr.annotations.toLocaleString()}</dd></div>
            <div><dt>Today</dt><dd>{pr.today.toLocaleString()}</dd></div>
            <div><dt>Versions</dt><dd>{pr.versions.toLocaleString()}</dd></div>
            <div><dt>Overlap</dt><dd>{project.overlap}</dd></div>
            {project.task_type === 'image-classification' && (
              <div><dt>Collects unsure inputs</dt><dd>{project.collect_below === null ? 'off' : `below ${Math.round(project.collect_below * 100)}%`}</dd></div>
            )}
          </dl>
        </section>
        {project.task_type === 'image-classification' && <ModelLoopCard project={project} />}
        <section class="card" aria-labelledby="per-label-title">
          <h2 id="per-label-title">Final labels</h2>
          {project.labels.map((l) => {
            const n = perLabel[l.name] ?? 0;
            return (
              <ProgressBar
                key={l.name}
                label={l.name}
                value={n}
                max={Math.max(labeledTotal, 1)}
                color={l.color}
                detail={`${n.toLocaleString()} (${percent(n, labeledTotal).toFixed(0)}%)`}
              />
            );
          })}
        </section>
        <section class="card" aria-labelledby="annotators-title">
          <h2 id="annotators-title">Annotators</h2>
          {annotators.length === 0 ? (
            <p class="muted">Nobody has labeled yet.</p>
          ) : (
            <table class="table" data-testid="annotator-table">
              <thead>
                <tr><th scope="col">User</th><th scope="col" class="num">Labels</th><th scope="col" class="num">Today</th></tr>
              </thead>
              <tbody>
                {annotators.map((a) => (
                  <tr key={a.user}>
                    <th scope="row">{a.user}</th>
                    <td class="num">{a.labels.toLocaleString()}</td>
                    <td class="num">{a.today.toLocaleString()}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        {splits.length > 0 && (
          <section class="card" aria-labelledby="splits-title">
            <h2 id="splits-title">Splits</h2>
            <table class="table">
              <thead><tr><th scope="col">Split</th><th scope="col" class="num">Items</th></tr></thead>
              <tbody>
                {splits.map(([split, v]) => (
                  <tr key={split}>
                    <th scope="row">{split}</th>
                    <td class="num">{typeof v === 'number' ? v.toLocaleString() : JSON.stringify(v)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        )}
      </div>
      <section class="card guidelines" aria-labelledby="guidelines-title">
        <h2 id="guidelines-title">Guidelines</h2>
        <Markdown source={project.guidelines} />
      </section>
    </div>
  );
}

const EXT = /\.(png|jpe?g|zip|txt|jsonl)$/i;

// What the server takes in one import, checked before the upload so that a
// wrong pick is caught early; the server checks again.
function checkFiles(files: File[], project: Project): string | null {
  const bad = files.find((f) => !EXT.test(f.name));
  if (bad) return `'${bad.name}' is not a .png, .jpg, .zip, .txt or .jsonl file.`;
  const zips = files.filter((f) => /\.zip$/i.test(f.name));
  if (zips.length && files.length > 1) return 'A .zip is imported on its own: pick just the one .zip.';
  const text = project.task_type === 'text-classification';
  if (text && files.some((f) => /\.(png|jpe?g)$/i.test(f.name))) return 'This is a text project: import .txt or .jsonl files.';
  if (!text && files.some((f) => /\.(txt|jsonl)$/i.test(f.name)))
    return 'This is an image project: import .png or .jpg images, or a .zip of them.';
  return null;
}

// Images go up in batches so that no request passes the server's body limit
// (32 MiB by default); a zip goes up on its own.
const BATCH_BYTES = 24 << 20;
const BATCH_FILES = 500;

export function uploadBatches(files: File[]): File[][] {
  const batches: File[][] = [];
  let current: File[] = [];
  let bytes = 0;
  for (const f of files) {
    if (current.length && (bytes + f.size > BATCH_BYTES || current.length >= BATCH_FILES)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(f);
    bytes += f.size;
  }
  if (current.length) batches.push(current);
  return batches;
}

function sumResults(a: ImportResult, b: ImportResult): ImportResult {
  return {
    added: a.added + b.added,
    present: a.present + b.present,
    relabeled: a.relabeled + b.relabeled,
    duplicates: a.duplicates + b.duplicates,
    records: a.records + b.records,
  };
}

function ImportPanel({ project, onDone }: { project: Project; onDone: () => void }) {
  const [files, setFiles] = useState<File[]>([]);
  const [progress, setProgress] = useState<number | null>(null);
  const [result, setResult] = useState<ImportResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);

  const pick = (list: FileList | null) => {
    const picked = list ? Array.from(list) : [];
    setFiles(picked);
    setResult(null);
    setError(picked.length ? checkFiles(picked, project) : null);
  };

  const start = async () => {
    const problem = checkFiles(files, project);
    if (problem) return setError(problem);
    setError(null);
    setResult(null);
    setProgress(0);
    const batches = uploadBatches(files);
    const total = Math.max(1, files.reduce((a, f) => a + f.size, 0));
    let done = 0;
    let sum: ImportResult = { added: 0, present: 0, relabeled: 0, duplicates: 0, records: 0 };
    let finished = 0;
    try {
      for (const batch of batches) {
        const size = batch.reduce((a, f) => a + f.size, 0);
        const r = await projectsApi.importFiles(project.name, batch, (f) => setProgress((done + f * size) / total));
        sum = sumResults(sum, r);
        done += size;
        finished += batch.length;
      }
      setResult(sum);
      setFiles([]);
      if (input.current) input.current.value = '';
      announce(`Import done: ${sum.added} added`);
      onDone();
    } catch (e) {
      // Earlier batches are in; importing the same files again skips them.
      const partial = finished ? ` (the first ${finished} of ${files.length} files were imported; importing all again skips those)` : '';
      setError(errorMessage(e) + partial);
      if (finished) setResult(sum);
      announce(`Import failed: ${errorMessage(e)}`, 'assertive');
      if (finished) onDone();
    } finally {
      setProgress(null);
    }
  };

  const bytes = files.reduce((a, f) => a + f.size, 0);
  const accept =
    project.task_type === 'text-classification' ? '.txt,.jsonl,text/plain' : '.png,.jpg,.jpeg,.zip,image/png,image/jpeg';
  return (
    <section class="card" aria-labelledby="import-title">
      <h2 id="import-title">Import items</h2>
      <p class="hint">
        {project.task_type === 'text-classification'
          ? '.txt files (one item each) or a .jsonl file.'
          : 'Images (.png, .jpg), or one .zip of images, optionally in folders named after labels.'}
      </p>
      <DropZone testId="import-dropzone" inputId="import-files" inputRef={input} prompt="Drop files here, or" choose="Choose files"
        accept={accept} multiple onFiles={pick} />
      {files.length > 0 && (
        <p data-testid="import-selection">
          {count(files.length, 'file')} selected ({(bytes / 1048576).toFixed(1)} MiB)
          {files.length <= 5 && `: ${files.map((f) => f.name).join(', ')}`}
        </p>
      )}
      {progress !== null && <ProgressBar label="Uploading" value={Math.round(progress * 100)} max={100} detail={`${Math.round(progress * 100)}%`} />}
      <ErrorBox error={error} />
      {result && (
        <div class="ok-box" role="status" data-testid="import-result">
          <strong>Imported.</strong>
          <dl class="stats-row">
            <div><dt>Added</dt><dd>{result.added}</dd></div>
            <div><dt>Already present</dt><dd>{result.present}</dd></div>
            <div><dt>Relabeled</dt><dd>{result.relabeled}</dd></div>
            <div><dt>Duplicates</dt><dd>{result.duplicates}</dd></div>
            <div><dt>Records</dt><dd>{result.records}</dd></div>
          </dl>
        </div>
      )}
      <button type="button" class="primary" disabled={!files.length || progress !== null} onClick={start}>
        {progress !== null ? 'Uploading…' : 'Upload'}
      </button>
    </section>
  );
}

function SettingsPanel({ project, onSaved }: { project: Project; onSaved: (p: Project) => void }) {
  const image = project.task_type === 'image-classification';
  const [guidelines, setGuidelines] = useState(project.guidelines);
  const [overlap, setOverlap] = useState(project.overlap);
  const [collect, setCollect] = useState(project.collect_below !== null);
  const [collectPct, setCollectPct] = useState(Math.round((project.collect_below ?? 0.6) * 100));
  const [samplePct, setSamplePct] = useState(project.review_sample_permille / 10);
  const [rows, setRows] = useState<LabelRow[]>(() => toRows(project.labels));
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setSaved(false);
    const labels = rowsToSpecs(rows);
    if (typeof labels === 'string') return setError(labels);
    if (!(overlap >= 1 && overlap <= 10)) return setError('Overlap is a whole number from 1 to 10.');
    if (collect && !(collectPct > 0 && collectPct <= 100)) return setError('The confidence for collecting is a percentage above 0 and at most 100.');
    if (!(samplePct >= 0 && samplePct <= 100)) return setError('The random review sample is a percentage from 0 to 100.');
    const flywheel = image
      ? { collect_below: collect ? collectPct / 100 : null, review_sample_permille: Math.round(samplePct * 10) }
      : { review_sample_permille: Math.round(samplePct * 10) };
    setBusy(true);
    setError(null);
    try {
      const p = await projectsApi.update(project.name, { guidelines, overlap, labels, ...flywheel });
      setRows(toRows(p.labels));
      setSaved(true);
      announce('Settings saved');
      onSaved(p);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="card form" onSubmit={submit} aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <div class="field narrow-field">
        <label for="set-overlap">Overlap (people per item, 1–10)</label>
        <input id="set-overlap" type="number" min={1} max={10} step={1} value={overlap}
          onInput={(e) => setOverlap(Number(e.currentTarget.value))} />
      </div>
      <div class="field narrow-field">
        <label for="set-review-sample">Random review sample (% of finished items)</label>
        <input id="set-review-sample" type="number" min={0} max={100} step={0.1} value={samplePct}
          onInput={(e) => setSamplePct(Number(e.currentTarget.value))} data-testid="review-sample" />
      </div>
      {image ? (
        <fieldset class="field" data-testid="collect-setting">
          <legend>Production inputs</legend>
          <label>
            <input type="checkbox" checked={collect} onChange={(e) => setCollect(e.currentTarget.checked)} />{' '}
            Collect production inputs the model is unsure of: below{' '}
            <input type="number" style={{ width: '5em' }} aria-label="Confidence below which inputs are collected (%)"
              min={1} max={100} step={1} value={collectPct} disabled={!collect}
              onInput={(e) => setCollectPct(Number(e.currentTarget.value))} />
            % confidence
          </label>
          <p class="hint">
            Predictions whose top probability is below this send their image here as a new unlabeled item
            (metadata: source production, model, confidence, predicted label).
          </p>
        </fieldset>
      ) : (
        <p class="hint">Collecting production inputs needs an image project: there are no text models yet.</p>
      )}
      <LabelsEditor rows={rows} onChange={setRows} />
      <p class="hint">A label that items already carry cannot be removed.</p>
      <GuidelinesEditor id="set-guidelines" value={guidelines} onChange={setGuidelines} />
      <ErrorBox error={error} />
      {saved && <p class="ok-box" role="status">Settings saved.</p>}
      <button type="submit" class="primary" disabled={busy}>
        {busy ? 'Saving…' : 'Save settings'}
      </button>
    </form>
  );
}

export function ProjectPage({ name }: { name: string }) {
  useTitle(name);
  const session = useSession();
  const loc = useLocation();
  const admin = hasRole(session?.user, 'admin');
  const [project, setProject] = useState<ProjectDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const requested = loc.query.get('tab') as Tab | null;
  const tab: Tab = requested === 'import' || requested === 'settings' ? (admin ? requested : 'overview') : 'overview';

  const load = () =>
    projectsApi
      .get(name)
      .then((p) => {
        setProject(p);
        setError(null);
      })
      .catch((e) => setError(errorMessage(e)));
  useEffect(() => {
    void load();
  }, [name]);

  const base = `/projects/${encodeURIComponent(name)}`;
  const tabs: { id: Tab; title: string }[] = [{ id: 'overview', title: 'Overview' }];
  if (admin) tabs.push({ id: 'import', title: 'Import' }, { id: 'settings', title: 'Settings' });

  return (
    <section>
      <ProjectCrumbs name={name} here />
      <div class="page-head">
        <PageTitle>{name}</PageTitle>
        <div class="actions">
          {hasRole(session?.user, 'annotator') && (
            <Link href={`${base}/label`} class="button primary" data-testid="start-labeling">
              Label
            </Link>
          )}
          {hasRole(session?.user, 'reviewer') && (
            <Link href={`${base}/review`} class="button secondary">
              Review{project && project.progress.in_review > 0 ? ` (${project.progress.in_review})` : ''}
            </Link>
          )}
          <Link href={`${base}/agreement`} class="button secondary">
            Agreement
          </Link>
          <Link href={`${base}/versions`} class="button secondary">
            Versions
          </Link>
        </div>
      </div>
      <ErrorBox error={error} />
      {!project && !error && <Loading what="the project" />}
      {project && (
        <>
          <p class="muted">
            {project.task_type === 'image-classification' ? 'Image' : 'Text'} classification ·{' '}
            {project.labels.map((l, i) => (
              <span key={l.name} class="label-inline">
                {i > 0 && ', '}
                <Swatch color={l.color} />
                {l.name}
              </span>
            ))}
          </p>
          {tabs.length > 1 && (
            <Tabs
              label="Project sections"
              tabs={tabs}
              current={tab}
              onSelect={(t) => navigate(t === 'overview' ? base : `${base}?tab=${t}`, { replace: true })}
            />
          )}
          <div role={tabs.length > 1 ? 'tabpanel' : undefined} id={`panel-${tab}`} aria-labelledby={tabs.length > 1 ? `tab-${tab}` : undefined}>
            {tab === 'overview' && <Overview project={project} />}
            {tab === 'import' && <ImportPanel project={project} onDone={() => void load()} />}
            {tab === 'settings' && (
              <SettingsPanel key={project.created_at} project={project} onSaved={(p) => setProject({ ...project, ...p })} />
            )}
          </div>
        </>
      )}
    </section>
  );
}
