import { Fragment } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { errorMessage } from '../api/client';
import { projects as projectsApi, versions as versionsApi } from '../api/endpoints';
import type { Label, Project, Version, VersionDiff } from '../api/types';
import { ErrorBox, ItemThumb, Loading, PageTitle, ProjectCrumbs, useTitle } from '../components/common';
import { announce } from '../lib/announce';
import { count, formatDate } from '../lib/format';
import { hasRole, useSession } from '../lib/session';
import './versions.css';

const SPLITS = ['train', 'val', 'test'] as const;

// Items per label of a version: stats.labels is {label: {train, val, test, total}}.
function perLabel(v: Version): Map<string, number> {
  const out = new Map<string, number>();
  for (const [label, splits] of Object.entries(v.stats?.labels ?? {})) {
    const s = splits ?? {};
    const n = typeof s.total === 'number' ? s.total : SPLITS.reduce((a, k) => a + (Number(s[k]) || 0), 0);
    out.set(label, n);
  }
  return out;
}

function perSplit(v: Version): Map<string, number> {
  const s = v.stats?.splits ?? {};
  return new Map(SPLITS.map((k) => [k, Number(s[k]) || 0]));
}

interface Segment {
  key: string;
  n: number;
  color?: string;
  className?: string;
}

// One stacked horizontal bar, as wide (of the row) as `total / max`.
function Stack({ segments, max, name }: { segments: Segment[]; max: number; name: string }) {
  const total = segments.reduce((a, s) => a + s.n, 0);
  const summary = segments.filter((s) => s.n > 0).map((s) => `${s.key} ${s.n.toLocaleString()}`).join(', ');
  return (
    <div class="stack-wrap">
      <div class="stack" style={{ width: `${max > 0 ? Math.max(0.5, (100 * total) / max) : 0}%` }}
        role="img" aria-label={`${name}: ${summary || 'no items'}`}>
        {segments.map((s) =>
          s.n > 0 ? (
            <span key={s.key} class={s.className} title={`${s.key}: ${s.n.toLocaleString()} (${Math.round((100 * s.n) / total)}%)`}
              style={{ width: `${(100 * s.n) / total}%`, background: s.color }} />
          ) : null,
        )}
      </div>
      <span class="stack-total">{total.toLocaleString()}</span>
    </div>
  );
}

// Every version's items per label (or per split) as stacked bars on one scale,
// newest first, so growth and balance read at a glance.
function Composition({ list, labels }: { list: Version[]; labels: Label[] }) {
  const [by, setBy] = useState<'label' | 'split'>('label');
  const colors = new Map(labels.map((l) => [l.name, l.color]));
  const names = [...new Set([...labels.map((l) => l.name), ...list.flatMap((v) => [...perLabel(v).keys()])])];
  const max = Math.max(1, ...list.map((v) => v.items));
  const segmentsOf = (v: Version): Segment[] => {
    if (by === 'split') return [...perSplit(v)].map(([k, n]) => ({ key: k, n, className: `split-${k}` }));
    const counts = perLabel(v);
    return names.map((name) => ({ key: name, n: counts.get(name) ?? 0, color: colors.get(name) ?? '#888888' }));
  };
  return (
    <section class="card" aria-labelledby="composition-title" data-testid="versions-chart">
      <h2 id="composition-title">What each version holds</h2>
      <div class="chart-switch" role="group" aria-label="Break down by">
        <button type="button" class={by === 'label' ? 'primary' : 'secondary'} aria-pressed={by === 'label'}
          onClick={() => setBy('label')}>Per label</button>
        <button type="button" class={by === 'split' ? 'primary' : 'secondary'} aria-pressed={by === 'split'}
          onClick={() => setBy('split')}>Per split</button>
      </div>
      <ul class="chart-legend" aria-label="Legend">
        {by === 'label'
          ? names.map((n) => (
              <li key={n}><span class="key" style={{ background: colors.get(n) ?? '#888888' }} />{n}</li>
            ))
          : SPLITS.map((k) => (
              <li key={k}><span class={`key split-${k}`} />{k}</li>
            ))}
      </ul>
      <div class="composition">
        {list.map((v) => (
          <Fragment key={v.number}>
            <span class="row-name">v{v.number}</span>
            <Stack name={`v${v.number}`} segments={segmentsOf(v)} max={max} />
          </Fragment>
        ))}
      </div>
    </section>
  );
}

function CommitForm({ project, onCommitted }: { project: string; onCommitted: (v: Version) => void }) {
  const [message, setMessage] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!message.trim()) return setError('Describe the version in a few words.');
    setBusy(true);
    setError(null);
    try {
      const v = await versionsApi.commit(project, message.trim());
      setMessage('');
      announce(`Committed version ${v.number}`);
      onCommitted(v);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card form inline-form" onSubmit={submit} data-testid="commit-form">
      <h2>Commit a version</h2>
      <div class="field grow">
        <label for="commit-message">Message</label>
        <input id="commit-message" value={message} maxLength={500} placeholder="e.g. first 1,000 reviewed labels"
          onInput={(e) => setMessage(e.currentTarget.value)} />
      </div>
      <button type="submit" class="primary" disabled={busy}>
        {busy ? 'Committing…' : 'Commit version'}
      </button>
      <ErrorBox error={error} />
    </form>
  );
}

function DiffBars({ diff }: { diff: VersionDiff }) {
  const rows = [
    ['Added', diff.added, 'bar-added'],
    ['Removed', diff.removed, 'bar-removed'],
    ['Relabeled', diff.relabeled, 'bar-relabeled'],
    ['Unchanged', diff.unchanged, 'bar-unchanged'],
  ] as const;
  const max = Math.max(1, ...rows.map((r) => r[1]));
  return (
    <dl class="diff-bars">
      {rows.map(([name, n, cls]) => (
        <Fragment key={name}>
          <dt>{name}</dt>
          <dd style={{ margin: 0 }} aria-hidden="true">
            <div class={`bar ${cls}`} style={{ width: `${n > 0 ? Math.max(0.5, (100 * n) / max) : 0}%` }} />
          </dd>
          <dd class="num" style={{ margin: 0 }}>{n.toLocaleString()}</dd>
        </Fragment>
      ))}
    </dl>
  );
}

function DiffView({ project, list }: { project: Project; list: Version[] }) {
  const sorted = [...list].sort((a, b) => a.number - b.number);
  const [a, setA] = useState(sorted.length > 1 ? sorted[sorted.length - 2]!.number : sorted[0]?.number ?? 0);
  const [b, setB] = useState(sorted[sorted.length - 1]?.number ?? 0);
  const [diff, setDiff] = useState<(VersionDiff & { a: number; b: number }) | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const images = project.task_type === 'image-classification';

  const compare = async (e?: Event) => {
    e?.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setDiff({ ...(await versionsApi.diff(project.name, a, b)), a, b });
    } catch (err) {
      setDiff(null);
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  const picker = (id: string, label: string, value: number, set: (n: number) => void) => (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => set(Number(e.currentTarget.value))}>
        {sorted.map((v) => (
          <option key={v.number} value={v.number}>
            v{v.number} — {v.message.length > 40 ? v.message.slice(0, 40) + '…' : v.message}
          </option>
        ))}
      </select>
    </div>
  );

  return (
    <section class="card" aria-labelledby="diff-title">
      <h2 id="diff-title">Compare versions</h2>
      <form class="inline-form" onSubmit={compare} data-testid="diff-form">
        {picker('diff-a', 'From', a, setA)}
        <button type="button" class="secondary" aria-label="Swap the two versions" title="Swap"
          onClick={() => { setA(b); setB(a); }}>⇄</button>
        {picker('diff-b', 'To', b, setB)}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Comparing…' : 'Compare'}
        </button>
      </form>
      <ErrorBox error={error} />
      {diff && (
        <div data-testid="diff-result" aria-live="polite">
          <h3 class="small-heading">v{diff.a} → v{diff.b}</h3>
          <DiffBars diff={diff} />
          {(['added', 'removed'] as const).map((kind) =>
            diff.samples[kind].length ? (
              <div key={kind}>
                <h3 class="small-heading">
                  {kind === 'added' ? 'Added' : 'Removed'} ({diff.samples[kind].length < diff[kind]
                    ? `${diff.samples[kind].length} of ${diff[kind].toLocaleString()}` : 'all'})
                </h3>
                <ul class="sample-grid" data-testid={`diff-${kind}`}>
                  {diff.samples[kind].map((s) => (
                    <li key={s.id}>
                      <ItemThumb project={project.name} itemId={s.id} image={images} />
                      <span>{s.label}</span>
                      <span class="sample-split">{s.split}</span>
                    </li>
                  ))}
                </ul>
              </div>
            ) : null,
          )}
          {diff.samples.relabeled.length > 0 && (
            <div>
              <h3 class="small-heading">
                Relabeled ({diff.samples.relabeled.length < diff.relabeled
                  ? `${diff.samples.relabeled.length} of ${diff.relabeled.toLocaleString()}` : 'all'})
              </h3>
              <ul class="sample-grid" data-testid="diff-relabeled">
                {diff.samples.relabeled.map((s) => (
                  <li key={s.id}>
                    <ItemThumb project={project.name} itemId={s.id} image={images} />
                    <span>
                      {s.from} → {s.to}
                    </span>
                  </li>
                ))}
              </ul>
            </div>
          )}
          {diff.added + diff.removed + diff.relabeled === 0 && <p class="empty">The two versions hold the same items and labels.</p>}
        </div>
      )}
    </section>
  );
}

export function VersionsPage({ name }: { name: string }) {
  useTitle(`Versions ${name}`);
  const session = useSession();
  const [project, setProject] = useState<Project | null>(null);
  const [list, setList] = useState<Version[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = () =>
    versionsApi
      .list(name)
      .then((r) => setList(r.versions)) // newest first, as the server lists them
      .catch((e) => setError(errorMessage(e)));
  useEffect(() => {
    projectsApi
      .get(name)
      .then(setProject)
      .catch((e) => setError(errorMessage(e)));
    void load();
  }, [name]);

  return (
    <section>
      <ProjectCrumbs name={name} />
      <PageTitle>Dataset versions</PageTitle>
      <ErrorBox error={error} />
      {hasRole(session?.user, 'reviewer') && <CommitForm project={name} onCommitted={() => void load()} />}
      {(!list || !project) && !error && <Loading what="versions" />}
      {list && project && list.length === 0 && <p class="empty">No versions yet.</p>}
      {list && project && list.length > 0 && (
        <>
          <section class="card">
            <h2>{count(list.length, 'version')}</h2>
            <div class="table-scroll">
              <table class="table" data-testid="versions-table">
                <thead>
                  <tr>
                    <th scope="col">Version</th>
                    <th scope="col">Message</th>
                    <th scope="col">Author</th>
                    <th scope="col">Date</th>
                    <th scope="col" class="num">Items</th>
                    {SPLITS.map((s) => (
                      <th key={s} scope="col" class="num">{s}</th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {list.map((v) => {
                    const splits = perSplit(v);
                    return (
                      <tr key={v.number}>
                        <th scope="row">
                          v{v.number}
                          {v.tags.map((t) => (
                            <span key={t} class="tag">{t}</span>
                          ))}
                        </th>
                        <td>{v.message}</td>
                        <td>{v.author}</td>
                        <td>{formatDate(v.created_at)}</td>
                        <td class="num">{v.items.toLocaleString()}</td>
                        {SPLITS.map((s) => (
                          <td key={s} class="num">{(splits.get(s) ?? 0).toLocaleString()}</td>
                        ))}
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          </section>
          <Composition list={list} labels={project.labels} />
          <DiffView key={list.length} project={project} list={list} />
        </>
      )}
    </section>
  );
}
