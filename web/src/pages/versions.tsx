import { useEffect, useState } from 'preact/hooks';
import { errorMessage } from '../api/client';
import { projects as projectsApi, versions as versionsApi } from '../api/endpoints';
import type { Label, Project, Version, VersionDiff } from '../api/types';
import { ErrorBox, ItemThumb, Loading, PageTitle, ProjectCrumbs, Swatch, useTitle } from '../components/common';
import { announce } from '../lib/announce';
import { count, formatDate } from '../lib/format';
import { hasRole, useSession } from '../lib/session';

// Items per label of a version: stats.labels is {label: {split: n}}.
function perLabel(v: Version): [string, number][] {
  const labels = v.stats?.labels ?? {};
  return Object.entries(labels)
    .map(([label, splits]): [string, number] =>
      [label, typeof splits === 'number' ? splits : Object.values(splits ?? {}).reduce((a, b) => a + (Number(b) || 0), 0)])
    .sort((a, b) => b[1] - a[1]);
}

function LabelCounts({ version, labels }: { version: Version; labels: Label[] }) {
  const colors = new Map(labels.map((l) => [l.name, l.color]));
  const rows = perLabel(version);
  if (!rows.length) return <span class="muted">–</span>;
  return (
    <ul class="label-chips">
      {rows.map(([label, n]) => (
        <li key={label} class="label-chip">
          <Swatch color={colors.get(label) ?? '#888888'} />
          {label}: {n.toLocaleString()}
        </li>
      ))}
    </ul>
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

function DiffView({ project, list }: { project: Project; list: Version[] }) {
  const sorted = [...list].sort((a, b) => a.number - b.number);
  const [a, setA] = useState(sorted.length > 1 ? sorted[sorted.length - 2]!.number : sorted[0]?.number ?? 0);
  const [b, setB] = useState(sorted[sorted.length - 1]?.number ?? 0);
  const [diff, setDiff] = useState<VersionDiff | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const images = project.task_type === 'image-classification';

  const compare = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setDiff(await versionsApi.diff(project.name, a, b));
    } catch (err) {
      setDiff(null);
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby="diff-title">
      <h2 id="diff-title">Compare versions</h2>
      <form class="inline-form" onSubmit={compare} data-testid="diff-form">
        <div class="field">
          <label for="diff-a">From</label>
          <select id="diff-a" value={a} onChange={(e) => setA(Number(e.currentTarget.value))}>
            {sorted.map((v) => (
              <option key={v.number} value={v.number}>v{v.number}</option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="diff-b">To</label>
          <select id="diff-b" value={b} onChange={(e) => setB(Number(e.currentTarget.value))}>
            {sorted.map((v) => (
              <option key={v.number} value={v.number}>v{v.number}</option>
            ))}
          </select>
        </div>
        <button type="submit" class="secondary" disabled={busy}>
          {busy ? 'Comparing…' : 'Compare'}
        </button>
      </form>
      <ErrorBox error={error} />
      {diff && (
        <div data-testid="diff-result" aria-live="polite">
          <dl class="stats-row">
            <div><dt>Added</dt><dd>{diff.added.toLocaleString()}</dd></div>
            <div><dt>Removed</dt><dd>{diff.removed.toLocaleString()}</dd></div>
            <div><dt>Relabeled</dt><dd>{diff.relabeled.toLocaleString()}</dd></div>
            <div><dt>Unchanged</dt><dd>{diff.unchanged.toLocaleString()}</dd></div>
          </dl>
          {(['added', 'removed'] as const).map((kind) =>
            diff.samples[kind].length ? (
              <div key={kind}>
                <h3 class="small-heading">{kind === 'added' ? 'Added' : 'Removed'} (samples)</h3>
                <ul class="sample-grid">
                  {diff.samples[kind].map((s) => (
                    <li key={s.item_id}>
                      <ItemThumb project={project.name} itemId={s.item_id} image={images} />
                      <span>{s.label}</span>
                    </li>
                  ))}
                </ul>
              </div>
            ) : null,
          )}
          {diff.samples.relabeled.length > 0 && (
            <div>
              <h3 class="small-heading">Relabeled (samples)</h3>
              <ul class="sample-grid">
                {diff.samples.relabeled.map((s) => (
                  <li key={s.item_id}>
                    <ItemThumb project={project.name} itemId={s.item_id} image={images} />
                    <span>
                      {s.from} → {s.to}
                    </span>
                  </li>
                ))}
              </ul>
            </div>
          )}
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
                    <th scope="col">Labels</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((v) => (
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
                      <td>
                        <LabelCounts version={v} labels={project.labels} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
          {list.length > 0 && <DiffView key={list.length} project={project} list={list} />}
        </>
      )}
    </section>
  );
}
