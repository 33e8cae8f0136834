// Two evaluations side by side on the items they share: metric and
// per-class deltas, McNemar's test, and the items b fixed (a wrong, b right)
// and broke (a right, b wrong), most confident in b first, paginated.

import { useEffect, useState } from 'preact/hooks';
import { errorMessage } from '../api/client';
import { evals, type CompareItem, type Comparison } from '../api/evals';
import { ErrorBox, ItemThumb, Loading, PageTitle, useTitle } from '../components/common';
import { shortId } from '../lib/format';
import { Link, useLocation } from '../lib/router';
import { fmt } from './evals';
import './evals.css';

const PAGE = 48;

function Delta({ d, higherBetter = true }: { d: number; higherBetter?: boolean }) {
  const better = higherBetter ? d > 0 : d < 0;
  const cls = d === 0 ? '' : better ? 'delta-better' : 'delta-worse';
  return (
    <span class={cls}>
      {d >= 0 ? '+' : ''}
      {d.toFixed(4)}
      {d !== 0 && <span class="sr-only">{better ? ' (better)' : ' (worse)'}</span>}
    </span>
  );
}

function ItemGrid(props: { kind: 'fixed' | 'broken'; a: number; b: number; total: number; project: string }) {
  const [offset, setOffset] = useState(0);
  const [items, setItems] = useState<CompareItem[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    evals
      .compare(props.a, props.b, { kind: props.kind, offset, limit: PAGE })
      .then((r) => setItems((props.kind === 'fixed' ? r.fixed_items : r.broken_items) ?? []))
      .catch((e) => setError(errorMessage(e)));
  }, [props.a, props.b, props.kind, offset]);
  const title = props.kind === 'fixed' ? 'Fixed by B (A wrong, B right)' : 'Broken by B (A right, B wrong)';
  return (
    <section class="cell-items" data-testid={`compare-${props.kind}`}>
      <h2>
        {title} <span class="muted">({props.total.toLocaleString()})</span>
      </h2>
      <ErrorBox error={error} />
      {items === null ? (
        <Loading what="items" />
      ) : items.length === 0 ? (
        <p class="empty">None.</p>
      ) : (
        <ul class="eval-grid">
          {items.map((i) => (
            <li key={i.item} class="eval-item">
              <div class="eval-thumb">
                {(i.media_type ?? '').startsWith('image/') ? (
                  <ItemThumb project={props.project} itemId={i.item} image={true} />
                ) : (
                  <div class="eval-text">{i.text ?? shortId(i.item)}</div>
                )}
              </div>
              <div class="eval-item-info">
                <div>true <strong>{i.true}</strong></div>
                <div class={i.a.predicted === i.true ? '' : 'wrong'}>A: {i.a.predicted} {(i.a.confidence * 100).toFixed(0)}%</div>
                <div class={i.b.predicted === i.true ? '' : 'wrong'}>B: {i.b.predicted} {(i.b.confidence * 100).toFixed(0)}%</div>
              </div>
            </li>
          ))}
        </ul>
      )}
      {props.total > PAGE && (
        <nav class="pager" aria-label={`${title}: pages`}>
          <button type="button" class="secondary small" disabled={offset === 0} onClick={() => setOffset(offset - PAGE)}>
            Previous
          </button>
          <span>
            Page {offset / PAGE + 1} of {Math.ceil(props.total / PAGE)}
          </span>
          <button type="button" class="secondary small" disabled={offset + PAGE >= props.total} onClick={() => setOffset(offset + PAGE)}>
            Next
          </button>
        </nav>
      )}
    </section>
  );
}

export function EvaluationComparePage() {
  const loc = useLocation();
  const a = Number(loc.query.get('a'));
  const b = Number(loc.query.get('b'));
  useTitle(`Compare #${a} and #${b}`);
  const [c, setC] = useState<Comparison | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [project, setProject] = useState('');
  useEffect(() => {
    setC(null);
    setError(null);
    if (!Number.isInteger(a) || !Number.isInteger(b) || a <= 0 || b <= 0) {
      setError('Give two evaluations to compare: /evaluations/compare?a=ID&b=ID');
      return;
    }
    evals
      .compare(a, b, { limit: 1 })
      .then(setC)
      .catch((e) => setError(errorMessage(e)));
    evals
      .get(a)
      .then((e) => setProject(e.project))
      .catch(() => undefined);
  }, [a, b]);
  return (
    <section class="eval-page" data-testid="compare-page">
      <nav class="breadcrumbs" aria-label="Breadcrumbs">
        <Link href="/evaluations">Evaluations</Link> <span aria-hidden="true">/</span> <span>compare</span>
      </nav>
      <PageTitle>
        Compare #{a} and #{b}
      </PageTitle>
      <ErrorBox error={error} />
      {!c && !error && <Loading what="the comparison" />}
      {c && (
        <>
          <p>
            A = <Link href={`/evaluations/${c.a.id}`}>#{c.a.id}</Link> {c.a.model} on {c.a.dataset} {c.a.split}; B ={' '}
            <Link href={`/evaluations/${c.b.id}`}>#{c.b.id}</Link> {c.b.model} on {c.b.dataset} {c.b.split}.{' '}
            {c.paired_items.toLocaleString()} items in both.
          </p>
          <div class="eval-figures">
            <table class="table" data-testid="compare-metrics">
              <caption>Metrics</caption>
              <thead>
                <tr>
                  <th scope="col">Metric</th>
                  <th scope="col" class="num">A</th>
                  <th scope="col" class="num">B</th>
                  <th scope="col" class="num">B − A</th>
                </tr>
              </thead>
              <tbody>
                {c.metrics.map((m) => (
                  <tr key={m.metric}>
                    <th scope="row">{m.metric.replace(/_/g, ' ')}</th>
                    <td class="num">{fmt(m.a, 4)}</td>
                    <td class="num">{fmt(m.b, 4)}</td>
                    <td class="num">
                      <Delta d={m.delta} higherBetter={m.higher_is_better} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <table class="table" data-testid="compare-per-class">
              <caption>Per class F1 (precision and recall deltas in brackets)</caption>
              <thead>
                <tr>
                  <th scope="col">Label</th>
                  <th scope="col" class="num">F1 A</th>
                  <th scope="col" class="num">F1 B</th>
                  <th scope="col" class="num">Δ F1</th>
                  <th scope="col" class="num">Δ P / Δ R</th>
                </tr>
              </thead>
              <tbody>
                {c.per_class.map((p) => (
                  <tr key={p.label}>
                    <th scope="row">{p.label}</th>
                    <td class="num">{fmt(p.f1.a)}</td>
                    <td class="num">{fmt(p.f1.b)}</td>
                    <td class="num"><Delta d={p.f1.delta} /></td>
                    <td class="num">
                      <Delta d={p.precision.delta} /> / <Delta d={p.recall.delta} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p data-testid="compare-counts">
            Fixed by B: <strong>{c.fixed.toLocaleString()}</strong>. Broken by B: <strong>{c.broken.toLocaleString()}</strong>. Both
            right: {c.both_right.toLocaleString()}, both wrong: {c.both_wrong.toLocaleString()}. McNemar's test:{' '}
            {c.mcnemar.exact ? 'exact binomial' : `χ² ${c.mcnemar.statistic.toFixed(3)}`},{' '}
            {c.mcnemar.p_value < 1e-4 ? 'p < 0.0001' : `p = ${c.mcnemar.p_value.toFixed(4)}`}
            {c.mcnemar.p_value < 0.05 ? ' (significant at 0.05)' : ' (not significant at 0.05)'}.
          </p>
          <ItemGrid kind="fixed" a={a} b={b} total={c.fixed} project={project} />
          <ItemGrid kind="broken" a={a} b={b} total={c.broken} project={project} />
        </>
      )}
    </section>
  );
}
