// /models: the model registry, each model with its versions, aliases and the
// latest version's metrics.

import { useEffect, useState } from 'preact/hooks';
import { errorMessage } from '../api/client';
import { registry, type ModelSummary } from '../api/runs';
import { ErrorBox, Loading, PageTitle, useTitle } from '../components/common';
import { formatDate } from '../lib/format';
import { Link } from '../lib/router';
import './runs.css';

// "val accuracy 0.91 · test accuracy 0.90" from a version's metrics.
export function metricsText(m: Record<string, unknown> | null | undefined): string {
  if (!m) return '–';
  const parts: string[] = [];
  const num = (v: unknown) => (typeof v === 'number' ? v.toFixed(4) : null);
  const val = num(m.val_accuracy);
  if (val) parts.push(`val accuracy ${val}`);
  const test = m.test as Record<string, unknown> | undefined;
  const t = test ? num(test.accuracy) : null;
  if (t) parts.push(`test accuracy ${t}`);
  return parts.length ? parts.join(' · ') : '–';
}

export function ModelsPage() {
  useTitle('Models');
  const [models, setModels] = useState<ModelSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    registry
      .list()
      .then((r) => setModels(r.models))
      .catch((e) => setError(errorMessage(e)));
  }, []);
  return (
    <section>
      <PageTitle>Models</PageTitle>
      <ErrorBox error={error} />
      {!models && !error && <Loading what="the registry" />}
      {models && models.length === 0 && <p>No registered model yet. Register a run with fsml models register RUN.</p>}
      {models && models.length > 0 && (
        <div class="table-scroll">
          <table class="table" data-testid="models-table">
            <thead>
              <tr>
                <th>Model</th>
                <th>Project</th>
                <th class="num">Versions</th>
                <th>Aliases</th>
                <th>Latest version</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {models.map((m) => (
                <tr key={m.name}>
                  <td>
                    <Link href={`/models/${encodeURIComponent(m.name)}`}>{m.name}</Link>
                  </td>
                  <td>{m.project}</td>
                  <td class="num">{m.versions}</td>
                  <td>
                    {Object.entries(m.aliases)
                      .map(([a, n]) => `${a} → ${n}`)
                      .join(', ') || '–'}
                  </td>
                  <td>
                    {m.latest}: {metricsText(m.latest_metrics)}
                  </td>
                  <td>{formatDate(m.updated_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
