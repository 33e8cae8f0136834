import { useEffect, useState } from 'preact/hooks';
import { errorMessage } from '../api/client';
import { projects as projectsApi } from '../api/endpoints';
import type { Project, TaskType } from '../api/types';
import { ErrorBox, Loading, PageTitle, ProgressBar, Swatch, useFocusOnMount, useTitle } from '../components/common';
import { GuidelinesEditor, type LabelRow, LabelsEditor, rowsToSpecs, toRows } from '../components/editors';
import { announce } from '../lib/announce';
import { count } from '../lib/format';
import { Link, navigate } from '../lib/router';
import { hasRole, useSession } from '../lib/session';

const PROJECT_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

function ProjectCard({ project }: { project: Project }) {
  const pr = project.progress;
  const href = `/projects/${encodeURIComponent(project.name)}`;
  return (
    <li class="card project-card" data-testid="project-card" data-project={project.name}>
      <div class="project-card-head">
        <h2>
          <Link href={href}>{project.name}</Link>
        </h2>
        <span class="tag">{project.task_type === 'image-classification' ? 'images' : 'text'}</span>
      </div>
      <ProgressBar label="Labeled" value={pr.labeled} max={pr.items} />
      <dl class="stats-row">
        <div>
          <dt>Items</dt>
          <dd>{pr.items.toLocaleString()}</dd>
        </div>
        <div>
          <dt>In review</dt>
          <dd>{pr.in_review.toLocaleString()}</dd>
        </div>
        <div>
          <dt>Today</dt>
          <dd>{pr.today.toLocaleString()}</dd>
        </div>
        <div>
          <dt>Versions</dt>
          <dd>{pr.versions.toLocaleString()}</dd>
        </div>
      </dl>
      <ul class="label-chips" aria-label="Labels">
        {project.labels.map((l) => (
          <li key={l.name} class="label-chip">
            <Swatch color={l.color} />
            {l.name}
          </li>
        ))}
      </ul>
    </li>
  );
}

function NewProjectForm({ onCancel }: { onCancel: () => void }) {
  const [name, setName] = useState('');
  const [taskType, setTaskType] = useState<TaskType>('image-classification');
  const [rows, setRows] = useState<LabelRow[]>(() => toRows([{ name: '' }, { name: '' }]));
  const [guidelines, setGuidelines] = useState('');
  const [overlap, setOverlap] = useState(1);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const nameInput = useFocusOnMount<HTMLInputElement>();

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!PROJECT_NAME.test(name))
      return setError("The name must be 1-64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit.");
    const labels = rowsToSpecs(rows);
    if (typeof labels === 'string') return setError(labels);
    if (!(overlap >= 1 && overlap <= 10)) return setError('Overlap is a whole number from 1 to 10.');
    setBusy(true);
    setError(null);
    try {
      const p = await projectsApi.create({ name, task_type: taskType, labels, guidelines, overlap });
      announce(`Project ${p.name} created`);
      navigate(`/projects/${encodeURIComponent(p.name)}`);
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };

  return (
    <form class="card form" onSubmit={submit} aria-labelledby="new-project-title" data-testid="new-project-form">
      <h2 id="new-project-title">New project</h2>
      <div class="form-grid">
        <div class="field">
          <label for="np-name">Name</label>
          <input id="np-name" required value={name} maxLength={64} ref={nameInput}
            aria-describedby="np-name-hint" onInput={(e) => setName(e.currentTarget.value)} />
          <span class="hint" id="np-name-hint">Lowercase letters, digits, '.', '_' or '-'.</span>
        </div>
        <div class="field">
          <label for="np-type">Task type</label>
          <select id="np-type" value={taskType} onChange={(e) => setTaskType(e.currentTarget.value as TaskType)}>
            <option value="image-classification">Image classification</option>
            <option value="text-classification">Text classification</option>
          </select>
        </div>
        <div class="field">
          <label for="np-overlap">Overlap (people per item, 1–10)</label>
          <input id="np-overlap" type="number" min={1} max={10} step={1} value={overlap}
            onInput={(e) => setOverlap(Number(e.currentTarget.value))} />
        </div>
      </div>
      <LabelsEditor rows={rows} onChange={setRows} />
      <GuidelinesEditor id="np-guidelines" value={guidelines} onChange={setGuidelines} />
      <ErrorBox error={error} />
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create project'}
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

export function ProjectsPage() {
  useTitle('Projects');
  const session = useSession();
  const [list, setList] = useState<Project[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const admin = hasRole(session?.user, 'admin');

  useEffect(() => {
    projectsApi
      .list()
      .then((r) => setList(r.projects))
      .catch((e) => setError(errorMessage(e)));
  }, []);

  return (
    <section>
      <div class="page-head">
        <PageTitle>Projects</PageTitle>
        {admin && !creating && (
          <button type="button" class="primary" onClick={() => setCreating(true)}>
            New project
          </button>
        )}
      </div>
      {creating && <NewProjectForm onCancel={() => setCreating(false)} />}
      <ErrorBox error={error} />
      {!list && !error && <Loading what="projects" />}
      {list && list.length === 0 && (
        <p class="empty">{admin ? 'No projects yet: create the first one.' : 'No projects yet.'}</p>
      )}
      {list && list.length > 0 && (
        <>
          <p class="muted">{count(list.length, 'project')}</p>
          <ul class="project-grid">
            {list.map((p) => (
              <ProjectCard key={p.name} project={p} />
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
