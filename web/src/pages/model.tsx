// /models/:name: a model's versions with metrics and lineage (version → run →
// dataset version), its aliases with their history, and (admins) moving an
// alias through the production gate with a confirmation.

import { useEffect, useState } from 'preact/hooks';
import { errorMessage } from '../api/client';
import { registry, type Gate, type RegistryModel, type RegistryVersion } from '../api/runs';
import { ErrorBox, Loading, PageTitle, useTitle } from '../components/common';
import { Modal } from '../components/modal';
import { announce } from '../lib/announce';
import { formatDate } from '../lib/format';
import { Link } from '../lib/router';
import { hasRole, useSession } from '../lib/session';
import { metricsText } from './models';
import './runs.css';

export function ModelPage({ name }: { name: string }) {
  useTitle(`Model ${name}`);
  const session = useSession();
  const admin = hasRole(session?.user, 'admin');
  const [model, setModel] = useState<RegistryModel | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [moving, setMoving] = useState<RegistryVersion | null>(null);

  const load = () =>
    registry
      .get(name)
      .then((m) => (setModel(m), setError(null)))
      .catch((e) => setError(errorMessage(e)));
  useEffect(() => {
    void load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [name]);

  if (!model) {
    return (
      <section>
        <PageTitle>Model {name}</PageTitle>
        <ErrorBox error={error} />
        {!error && <Loading what="the model" />}
      </section>
    );
  }
  return (
    <section>
      <PageTitle>Model {model.name}</PageTitle>
      <p class="muted">
        <Link href="/models">All models</Link> · project {model.project} ·{' '}
        {Object.entries(model.aliases)
          .map(([a, n]) => `${a} → ${model.name}/${n}`)
          .join(', ') || 'no aliases'}
      </p>
      <ErrorBox error={error} />
      <h2>Versions</h2>
      <div class="table-scroll">
        <table class="table" data-testid="versions-table">
          <thead>
            <tr>
              <th>Version</th>
              <th>Aliases</th>
              <th>Architecture</th>
              <th>Metrics</th>
              <th>Lineage</th>
              <th>Created</th>
              {admin && <th>Actions</th>}
            </tr>
          </thead>
          <tbody>
            {model.versions.map((v) => (
              <tr key={v.version}>
                <td>
                  {v.ref}
                </td>
                <td>{v.aliases.join(', ') || '–'}</td>
                <td>
                  {v.architecture} ({v.parameters.toLocaleString()} parameters)
                </td>
                <td>{metricsText(v.metrics)}</td>
                <td>
                  <Link href={`/runs/${v.lineage.run_id}`}>run #{v.lineage.run_id}</Link> epoch {v.lineage.epoch} ←{' '}
                  {v.lineage.dataset ? (
                    <Link href={`/projects/${encodeURIComponent(v.lineage.project)}/versions`}>{v.lineage.dataset}</Link>
                  ) : (
                    '–'
                  )}
                </td>
                <td>
                  {formatDate(v.created_at)} by {v.created_by}
                </td>
                {admin && (
                  <td>
                    <button type="button" class="secondary small" onClick={() => setMoving(v)} aria-label={`Set an alias on version ${v.version}`}>
                      Promote / set alias
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>Alias history</h2>
      {model.alias_history.length === 0 ? (
        <p class="muted">No alias was ever set.</p>
      ) : (
        <div class="table-scroll">
          <table class="table">
            <thead>
              <tr>
                <th>When</th>
                <th>Alias</th>
                <th>From</th>
                <th>To</th>
                <th>By</th>
                <th>Note</th>
              </tr>
            </thead>
            <tbody>
              {[...model.alias_history].reverse().map((h, i) => (
                <tr key={i}>
                  <td>{formatDate(h.at)}</td>
                  <td>{h.alias}</td>
                  <td>{h.previous ?? '–'}</td>
                  <td>{h.number ?? 'removed'}</td>
                  <td>{h.by}</td>
                  <td>
                    {h.forced && <strong>forced: </strong>}
                    {h.note}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {moving && (
        <AliasDialog
          model={model.name}
          version={moving}
          onClose={() => setMoving(null)}
          onDone={() => {
            setMoving(null);
            void load();
          }}
        />
      )}
    </section>
  );
}

function AliasDialog(props: { model: string; version: RegistryVersion; onClose: () => void; onDone: () => void }) {
  const [alias, setAlias] = useState('production');
  const [gate, setGate] = useState<Gate | null>(null);
  const [gateError, setGateError] = useState<string | null>(null);
  const [force, setForce] = useState(false);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (alias !== 'production') return;
    registry
      .gate(props.model, props.version.version)
      .then(setGate)
      .catch((e) => setGateError(errorMessage(e)));
  }, [alias, props.model, props.version.version]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await registry.setAlias(props.model, alias, { version: props.version.version, ...(force ? { force, reason } : {}) });
      announce(`${props.model}@${alias} now points at version ${props.version.version}${r.forced ? ' (forced)' : ''}`);
      props.onDone();
    } catch (err) {
      setError(errorMessage(err));
    }
    setBusy(false);
  };
  const refused = alias === 'production' && gate !== null && !gate.passed;

  return (
    <Modal title={`Set an alias on ${props.model}/${props.version.version}`} onClose={props.onClose} testId="alias-dialog">
      <form onSubmit={submit}>
        <label>
          Alias
          <input
            type="text"
            value={alias}
            required
            pattern="[a-z0-9_\-]{1,64}"
            onInput={(e) => setAlias(e.currentTarget.value)}
            data-autofocus
            list="alias-suggestions"
          />
          <datalist id="alias-suggestions">
            <option value="production" />
            <option value="staging" />
            <option value="canary" />
          </datalist>
        </label>
        {alias === 'production' && (
          <div class="gate-answer" role="status" data-testid="gate-answer">
            <ErrorBox error={gateError} />
            {!gate && !gateError && <Loading what="the production gate" />}
            {gate && gate.passed && <p>The production gate passes: the version meets the project's requirements.</p>}
            {gate && !gate.passed && (
              <>
                <p>
                  <strong>The production gate refuses:</strong> {gate.reason}
                </p>
                <ul>
                  {gate.results.map((r) => (
                    <li key={r.requirement}>
                      {r.passed ? 'passes' : 'fails'}: {r.requirement} (is {r.actual === null ? 'not measured' : r.actual.toFixed(4)})
                    </li>
                  ))}
                </ul>
                <label>
                  <input type="checkbox" checked={force} onChange={(e) => setForce(e.currentTarget.checked)} /> Move it anyway (recorded
                  in the alias history)
                </label>
                {force && (
                  <label>
                    Reason
                    <input type="text" value={reason} required onInput={(e) => setReason(e.currentTarget.value)} />
                  </label>
                )}
              </>
            )}
          </div>
        )}
        <ErrorBox error={error} />
        <div class="runs-actions">
          <button type="submit" class="primary" disabled={busy || (refused && (!force || !reason.trim()))}>
            {busy ? 'Moving…' : `Point ${alias || 'alias'} at version ${props.version.version}`}
          </button>
          <button type="button" class="secondary" onClick={props.onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}
