import { useEffect, useState } from 'preact/hooks';
import { errorMessage } from '../api/client';
import { review as reviewApi } from '../api/endpoints';
import type { Agreement } from '../api/types';
import { ErrorBox, Loading, PageTitle, ProjectCrumbs, useTitle } from '../components/common';
import { formatAgreement, formatKappa } from '../lib/format';

// Landis and Koch's words for a kappa, so the number is not read alone.
function kappaWords(k: number | null): string {
  if (k === null || Number.isNaN(k)) return '';
  if (k < 0) return 'worse than chance';
  if (k <= 0.2) return 'slight';
  if (k <= 0.4) return 'fair';
  if (k <= 0.6) return 'moderate';
  if (k <= 0.8) return 'substantial';
  return 'almost perfect';
}

export function AgreementPage({ name }: { name: string }) {
  useTitle(`Agreement ${name}`);
  const [data, setData] = useState<Agreement | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    reviewApi
      .agreement(name)
      .then(setData)
      .catch((e) => setError(errorMessage(e)));
  }, [name]);

  return (
    <section>
      <ProjectCrumbs name={name} />
      <PageTitle>Agreement</PageTitle>
      <ErrorBox error={error} />
      {!data && !error && <Loading what="agreement" />}
      {data && (
        <>
          <dl class="stats-row big" data-testid="agreement-summary">
            <div>
              <dt>Items with 2+ labels</dt>
              <dd>{data.items.toLocaleString()}</dd>
            </div>
            <div>
              <dt>Percent agreement</dt>
              <dd data-testid="percent-agreement">{formatAgreement(data.percent_agreement)}</dd>
            </div>
            <div>
              <dt>Fleiss' kappa</dt>
              <dd data-testid="fleiss-kappa">
                {formatKappa(data.fleiss_kappa)}
                {data.fleiss_kappa !== null && <span class="muted small"> {kappaWords(data.fleiss_kappa)}</span>}
              </dd>
            </div>
          </dl>
          {data.fleiss_kappa === null && <p class="hint">Fleiss' kappa needs items with three or more labels.</p>}
          {data.items === 0 && (
            <p class="empty">No item has two labels yet: agreement shows once items overlap (project overlap 2 or more).</p>
          )}
          <section class="card">
            <h2>Annotator pairs</h2>
            <div class="table-scroll">
              <table class="table" data-testid="agreement-table">
                <thead>
                  <tr>
                    <th scope="col">Annotator A</th>
                    <th scope="col">Annotator B</th>
                    <th scope="col" class="num">Items</th>
                    <th scope="col" class="num">Agreement</th>
                    <th scope="col" class="num">Cohen's kappa</th>
                  </tr>
                </thead>
                <tbody>
                  {data.pairs.length === 0 && (
                    <tr>
                      <td colSpan={5} class="muted">No pair of annotators shares an item yet.</td>
                    </tr>
                  )}
                  {data.pairs.map((p) => (
                    <tr key={p.a + '\u0000' + p.b}>
                      <td>{p.a}</td>
                      <td>{p.b}</td>
                      <td class="num">{p.items.toLocaleString()}</td>
                      <td class="num">{formatAgreement(p.percent_agreement)}</td>
                      <td class="num">
                        {formatKappa(p.cohen_kappa)} <span class="muted small">{kappaWords(p.cohen_kappa)}</span>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
          <section class="card">
            <h2>Annotators</h2>
            <div class="table-scroll">
              <table class="table" data-testid="annotator-agreement-table">
                <thead>
                  <tr>
                    <th scope="col">Annotator</th>
                    <th scope="col" class="num">Labels</th>
                    <th scope="col" class="num">Agreement with the final label</th>
                  </tr>
                </thead>
                <tbody>
                  {data.annotators.length === 0 && (
                    <tr>
                      <td colSpan={3} class="muted">Nobody has labeled yet.</td>
                    </tr>
                  )}
                  {data.annotators.map((a) => (
                    <tr key={a.user}>
                      <th scope="row">{a.user}</th>
                      <td class="num">{a.labels.toLocaleString()}</td>
                      <td class="num">{formatAgreement(a.agreement_with_final)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
        </>
      )}
    </section>
  );
}
