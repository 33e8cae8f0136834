// One evaluation: its metrics, per-class precision/recall/F1 bars, the
// reliability diagram, and the confusion matrix, whose cells open the items
// behind them (sortable by confidence, paginated). Reviewers send chosen
// items back to labeling or accept the model's label. Tabs show the most
// confident mistakes and the suspected label errors; "Compare with…" leads
// to the comparison of two evaluations.

import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { errorMessage } from '../api/client';
import { evals, type CellQuery, type EvalDetail, type EvalItem, type EvalSummary, type LabelIssue } from '../api/evals';
import { ErrorBox, ItemThumb, Loading, PageTitle, Tabs, useTitle } from '../components/common';
import { announce } from '../lib/announce';
import { formatTime, shortId } from '../lib/format';
import { Link, navigate } from '../lib/router';
import { hasRole, useSession } from '../lib/session';
import { fmt } from './evals';
import './evals.css';

const PAGE = 48;

function pct(v: number): string {
  return `${(v * 100).toFixed(1)}%`;
}

// ---- Metrics ------------------------------------------------------------------------

function MetricsTable({ e }: { e: EvalDetail }) {
  const m = e.metrics;
  const rows: [string, string][] = [
    ['Accuracy', fmt(m.accuracy, 4)],
    ['Macro precision', fmt(m.macro_precision, 4)],
    ['Macro recall', fmt(m.macro_recall, 4)],
    ['Macro F1', fmt(m.macro_f1, 4)],
    ['Weighted F1', fmt(m.weighted_f1, 4)],
    ['Log loss', fmt(m.log_loss, 4)],
    ['ECE', fmt(m.ece, 4)],
  ];
  for (const [k, v] of Object.entries(m.top_k)) if (k !== '1') rows.push([`Top-${k} accuracy`, fmt(v, 4)]);
  return (
    <div class="eval-metrics">
      <table class="table metrics-table" data-testid="metrics-table">
        <caption class="sr-only">Metrics</caption>
        <tbody>
          {rows.map(([k, v]) => (
            <tr key={k}>
              <th scope="row">{k}</th>
              <td class="num">{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {e.requirements.length > 0 && (
        <table class="table" data-testid="requirements-table">
          <caption>Requirements: {e.passed ? 'all pass' : 'some fail'}</caption>
          <thead>
            <tr>
              <th scope="col">Requirement</th>
              <th scope="col" class="num">Actual</th>
              <th scope="col">Result</th>
            </tr>
          </thead>
          <tbody>
            {e.requirements.map((r) => (
              <tr key={r.text}>
                <td>{r.text}</td>
                <td class="num">{r.actual === null ? 'not measured' : fmt(r.actual, 4)}</td>
                <td>{r.passed ? 'pass' : <strong class="error-text">fail</strong>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

const BAR_COLORS = { precision: '#1d4ed8', recall: '#b45309', f1: '#1b6e3a' };

function PerClassBars({ e }: { e: EvalDetail }) {
  const rows = e.metrics.per_class;
  const rowH = 42;
  const left = 140;
  const width = 560;
  const plot = width - left - 50;
  return (
    <figure class="eval-figure">
      <figcaption>Per class: precision, recall and F1</figcaption>
      <p class="legend">
        {(Object.keys(BAR_COLORS) as (keyof typeof BAR_COLORS)[]).map((k) => (
          <span key={k}>
            <span class="swatch" style={{ background: BAR_COLORS[k] }} aria-hidden="true" /> {k}
          </span>
        ))}
      </p>
      <svg viewBox={`0 0 ${width} ${rows.length * rowH + 10}`} class="bars" role="img"
           aria-label="Precision, recall and F1 per class (the table below has the numbers)">
        {rows.map((c, i) => (
          <g key={c.label} transform={`translate(0 ${i * rowH + 5})`}>
            <text x={left - 8} y={20} text-anchor="end" class="bar-label">
              {c.label.length > 18 ? c.label.slice(0, 17) + '…' : c.label}
            </text>
            {(['precision', 'recall', 'f1'] as const).map((k, j) => (
              <g key={k}>
                <rect x={left} y={j * 12} width={Math.max(1, c[k] * plot)} height={10} fill={BAR_COLORS[k]} />
                <text x={left + c[k] * plot + 4} y={j * 12 + 9} class="bar-value">
                  {c[k].toFixed(2)}
                </text>
              </g>
            ))}
          </g>
        ))}
      </svg>
      <div class="table-scroll">
        <table class="table" data-testid="per-class-table">
          <thead>
            <tr>
              <th scope="col">Label</th>
              <th scope="col" class="num">Precision</th>
              <th scope="col" class="num">Recall</th>
              <th scope="col" class="num">F1</th>
              <th scope="col" class="num">Support</th>
              <th scope="col" class="num">Predicted</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((c) => (
              <tr key={c.label}>
                <th scope="row">{c.label}</th>
                <td class="num">{fmt(c.precision)}</td>
                <td class="num">{fmt(c.recall)}</td>
                <td class="num">{fmt(c.f1)}</td>
                <td class="num">{c.support.toLocaleString()}</td>
                <td class="num">{c.predicted.toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}

// The reliability diagram: accuracy against mean confidence per bin, the
// diagonal where a calibrated model lies, and how many items each bin holds.
function Calibration({ e }: { e: EvalDetail }) {
  const bins = e.metrics.calibration;
  const size = 300;
  const pad = 36;
  const s = (v: number) => pad + v * (size - 2 * pad);
  const y = (v: number) => size - s(v);
  const used = bins.filter((b) => b.count > 0);
  const most = Math.max(1, ...bins.map((b) => b.count));
  const path = used.map((b, i) => `${i ? 'L' : 'M'}${s(b.confidence).toFixed(1)} ${y(b.accuracy).toFixed(1)}`).join(' ');
  return (
    <figure class="eval-figure" data-testid="calibration">
      <figcaption>Calibration (ECE {fmt(e.metrics.ece, 4)})</figcaption>
      <svg viewBox={`0 0 ${size} ${size}`} class="reliability" role="img"
           aria-label={`Reliability diagram: accuracy against confidence in ${used.length} bins; expected calibration error ${fmt(e.metrics.ece, 4)}`}>
        {bins.map((b) => (
          <rect key={b.lower} x={s(b.lower)} width={Math.max(0, s(b.upper) - s(b.lower) - 1)} y={y(0) - (b.count / most) * 40}
                height={(b.count / most) * 40} class="hist" />
        ))}
        <line x1={s(0)} y1={y(0)} x2={s(1)} y2={y(1)} class="diagonal" />
        <path d={path} class="curve" />
        {used.map((b) => (
          <circle key={b.lower} cx={s(b.confidence)} cy={y(b.accuracy)} r={3.5} class="dot">
            <title>
              confidence {fmt(b.confidence)}, accuracy {fmt(b.accuracy)}, {b.count} items
            </title>
          </circle>
        ))}
        <line x1={s(0)} y1={y(0)} x2={s(1)} y2={y(0)} class="axis" />
        <line x1={s(0)} y1={y(0)} x2={s(0)} y2={y(1)} class="axis" />
        {[0, 0.5, 1].map((t) => (
          <g key={t}>
            <text x={s(t)} y={y(0) + 16} text-anchor="middle" class="tick">{t}</text>
            <text x={s(0) - 6} y={y(t) + 4} text-anchor="end" class="tick">{t}</text>
          </g>
        ))}
        <text x={size / 2} y={size - 4} text-anchor="middle" class="tick">confidence</text>
        <text x={10} y={size / 2} text-anchor="middle" class="tick" transform={`rotate(-90 10 ${size / 2})`}>accuracy</text>
      </svg>
    </figure>
  );
}

// ---- Confusion matrix ---------------------------------------------------------------------

interface Cell {
  t: number;
  p: number;
}

function ConfusionMatrix(props: { e: EvalDetail; selected: Cell | null; onSelect: (c: Cell) => void }) {
  const m = props.e.metrics;
  const k = m.labels.length;
  const rowTotals = m.confusion.map((r) => r.reduce((a, b) => a + b, 0));
  const worst = useMemo(() => {
    let best: (Cell & { n: number }) | null = null;
    m.confusion.forEach((row, t) =>
      row.forEach((n, p) => {
        if (t !== p && n > 0 && (!best || n > best.n)) best = { t, p, n };
      }),
    );
    return best as (Cell & { n: number }) | null;
  }, [m]);
  const tableRef = useRef<HTMLTableElement>(null);
  // Arrow keys move between cells; Enter and Space open one (they are buttons).
  const onKey = (ev: KeyboardEvent) => {
    const target = ev.target as HTMLElement;
    const t = Number(target.dataset.t);
    const p = Number(target.dataset.p);
    if (!Number.isFinite(t) || !Number.isFinite(p)) return;
    let nt = t;
    let np = p;
    if (ev.key === 'ArrowRight') np = Math.min(k - 1, p + 1);
    else if (ev.key === 'ArrowLeft') np = Math.max(0, p - 1);
    else if (ev.key === 'ArrowDown') nt = Math.min(k - 1, t + 1);
    else if (ev.key === 'ArrowUp') nt = Math.max(0, t - 1);
    else return;
    ev.preventDefault();
    (tableRef.current?.querySelector(`[data-t="${nt}"][data-p="${np}"]`) as HTMLElement | null)?.focus();
  };
  return (
    <div class="confusion-wrap">
      {worst && (
        <p class="confusion-worst" data-testid="largest-confusion">
          Largest confusion: <strong>{m.labels[worst.t]}</strong> predicted as <strong>{m.labels[worst.p]}</strong> ({worst.n.toLocaleString()} items).{' '}
          <button type="button" class="link-button" onClick={() => props.onSelect(worst)}>
            Show them
          </button>
        </p>
      )}
      <div class="table-scroll">
        <table class="confusion" ref={tableRef} onKeyDown={onKey} data-testid="confusion-matrix">
          <caption>Confusion matrix: rows are true labels, columns predicted labels. Select a cell to see its items.</caption>
          <thead>
            <tr>
              <th scope="col" class="corner">
                true \ predicted
              </th>
              {m.labels.map((l) => (
                <th key={l} scope="col" class="col-head" title={l}>
                  <span>{l}</span>
                </th>
              ))}
              <th scope="col" class="num">Total</th>
            </tr>
          </thead>
          <tbody>
            {m.confusion.map((row, t) => (
              <tr key={t}>
                <th scope="row" title={m.labels[t]}>
                  {m.labels[t]}
                </th>
                {row.map((n, p) => {
                  const share = rowTotals[t] ? n / rowTotals[t]! : 0;
                  const diag = t === p;
                  const alpha = n === 0 ? 0 : 0.08 + 0.82 * Math.sqrt(share);
                  const bg = diag ? `rgba(29, 78, 216, ${alpha})` : `rgba(179, 38, 30, ${alpha})`;
                  const dark = alpha > 0.5;
                  const sel = props.selected?.t === t && props.selected?.p === p;
                  const isWorst = worst?.t === t && worst?.p === p;
                  return (
                    <td key={p} class={`${sel ? 'selected' : ''} ${isWorst ? 'worst' : ''}`}>
                      <button
                        type="button"
                        class="cm-cell"
                        data-t={t}
                        data-p={p}
                        data-testid={`confusion-cell-${m.labels[t]}-${m.labels[p]}`}
                        aria-label={`true ${m.labels[t]}, predicted ${m.labels[p]}: ${n} items`}
                        aria-pressed={sel}
                        disabled={n === 0}
                        style={{ background: bg, color: dark ? '#fff' : undefined }}
                        onClick={() => props.onSelect({ t, p })}
                      >
                        {n.toLocaleString()}
                      </button>
                    </td>
                  );
                })}
                <td class="num">{rowTotals[t]!.toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

// ---- Item grids --------------------------------------------------------------------------

function ItemCard(props: {
  project: string;
  image: boolean;
  item: { item: string; media_type: string | null; text?: string };
  checked: boolean;
  selectable: boolean;
  onToggle: () => void;
  children: preact.ComponentChildren;
}) {
  const { item } = props;
  return (
    <li class={`eval-item ${props.checked ? 'checked' : ''}`} data-testid={`eval-item-${item.item}`}>
      <div class="eval-thumb">
        {props.image || (item.media_type ?? '').startsWith('image/') ? (
          <ItemThumb project={props.project} itemId={item.item} image={true} />
        ) : (
          <div class="eval-text">{item.text ?? shortId(item.item)}</div>
        )}
      </div>
      <div class="eval-item-info">
        {props.selectable && (
          <label class="eval-check">
            <input type="checkbox" checked={props.checked} onChange={props.onToggle} aria-label={`Select item ${shortId(item.item)}`} />
            <span class="muted">{shortId(item.item)}</span>
          </label>
        )}
        {props.children}
      </div>
    </li>
  );
}

function Pager(props: { offset: number; total: number; onPage: (offset: number) => void }) {
  const { offset, total } = props;
  if (total <= PAGE) return null;
  const pages = Math.ceil(total / PAGE);
  const page = Math.floor(offset / PAGE) + 1;
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" class="secondary small" disabled={offset === 0} onClick={() => props.onPage(offset - PAGE)} data-testid="page-prev">
        Previous
      </button>
      <span>
        Page {page} of {pages}
      </span>
      <button type="button" class="secondary small" disabled={offset + PAGE >= total} onClick={() => props.onPage(offset + PAGE)} data-testid="page-next">
        Next
      </button>
    </nav>
  );
}

// The items of a cell (or all mistakes), with review actions for reviewers.
function CellItems(props: { e: EvalDetail; query: CellQuery; title: string; testId: string }) {
  const session = useSession();
  const reviewer = hasRole(session?.user, 'reviewer');
  const [sort, setSort] = useState<'confidence' | '-confidence'>('-confidence');
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<{ total: number; items: EvalItem[] } | null>(null);
  const [checked, setChecked] = useState<Set<string>>(new Set());
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const headRef = useRef<HTMLHeadingElement>(null);
  const key = `${props.query.true ?? ''}|${props.query.pred ?? ''}|${props.query.mistakes ? 1 : 0}`;

  useEffect(() => {
    setOffset(0);
    setChecked(new Set());
    setDone(null);
    headRef.current?.focus();
  }, [key]);
  useEffect(() => {
    const ctl = new AbortController();
    setError(null);
    evals
      .items(props.e.id, { ...props.query, sort, offset, limit: PAGE }, ctl.signal)
      .then((r) => setPage(r))
      .catch((err) => {
        if (!ctl.signal.aborted) setError(errorMessage(err));
      });
    return () => ctl.abort();
  }, [key, sort, offset, props.e.id]);

  const toggle = (id: string) =>
    setChecked((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });
  const chosen = page ? page.items.filter((i) => checked.has(i.item)) : [];
  const act = async (what: 'review' | 'accept') => {
    setBusy(true);
    setError(null);
    try {
      if (what === 'review') {
        const r = await evals.review(props.e.id, chosen.map((i) => i.item));
        setDone(`${r.count} item(s) sent to review in ${r.project}.`);
      } else {
        const r = await evals.accept(props.e.id, chosen.map((i) => ({ item: i.item, label: i.predicted })));
        setDone(`${r.count} item(s) labeled as the model predicted in ${r.project}.`);
      }
      announce(what === 'review' ? 'Sent to review' : 'Predicted labels accepted');
      setChecked(new Set());
    } catch (err) {
      setError(errorMessage(err));
    }
    setBusy(false);
  };
  const image = props.e.task_type === 'image-classification';
  return (
    <section class="cell-items" data-testid={props.testId} aria-labelledby={`${props.testId}-title`}>
      <div class="cell-items-head">
        <h2 id={`${props.testId}-title`} tabIndex={-1} ref={headRef}>
          {props.title} {page && <span class="muted">({page.total.toLocaleString()} items)</span>}
        </h2>
        <label class="field inline-field">
          <span>Sort</span>
          <select value={sort} onChange={(ev) => { setSort((ev.target as HTMLSelectElement).value as typeof sort); setOffset(0); }}
                  data-testid="cell-sort">
            <option value="-confidence">Most confident first</option>
            <option value="confidence">Least confident first</option>
          </select>
        </label>
      </div>
      {reviewer && (
        <div class="actions eval-actions">
          <button type="button" class="secondary small" disabled={!page?.items.length}
                  onClick={() => setChecked(new Set(page?.items.map((i) => i.item)))}>
            Select page
          </button>
          <button type="button" class="primary small" disabled={busy || chosen.length === 0} onClick={() => act('review')} data-testid="send-to-review">
            Send to review ({chosen.length})
          </button>
          <button type="button" class="secondary small" disabled={busy || chosen.length === 0} onClick={() => act('accept')} data-testid="accept-predicted">
            Accept predicted label ({chosen.length})
          </button>
        </div>
      )}
      <ErrorBox error={error} onDismiss={() => setError(null)} />
      {done && (
        <p class="ok-box" role="status" data-testid="action-done">
          {done} <Link href={`/projects/${encodeURIComponent(props.e.project)}/review`}>Open the review queue</Link>
        </p>
      )}
      {page === null ? (
        <Loading what="items" />
      ) : page.items.length === 0 ? (
        <p class="empty">No items.</p>
      ) : (
        <ul class="eval-grid" data-testid={`${props.testId}-grid`}>
          {page.items.map((i) => (
            <ItemCard key={i.item} project={props.e.project} image={image} item={i} checked={checked.has(i.item)}
                      selectable={reviewer} onToggle={() => toggle(i.item)}>
              <div class="eval-labels">
                <span>true <strong>{i.true}</strong></span>
                <span class={i.correct ? '' : 'wrong'}>pred <strong>{i.predicted}</strong> {pct(i.confidence)}</span>
              </div>
              <div class="eval-top muted" title="Top 3 probabilities">
                {i.top.map((t) => `${t.label} ${pct(t.probability)}`).join(' · ')}
              </div>
            </ItemCard>
          ))}
        </ul>
      )}
      {page && <Pager offset={offset} total={page.total} onPage={setOffset} />}
    </section>
  );
}

function LabelIssues({ e }: { e: EvalDetail }) {
  const session = useSession();
  const reviewer = hasRole(session?.user, 'reviewer');
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<{ total: number; computed: boolean; items: LabelIssue[] } | null>(null);
  const [checked, setChecked] = useState<Set<string>>(new Set());
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  useEffect(() => {
    evals
      .labelIssues(e.id, offset, PAGE)
      .then(setPage)
      .catch((err) => setError(errorMessage(err)));
  }, [e.id, offset]);
  const chosen = page ? page.items.filter((i) => checked.has(i.item)) : [];
  const act = async (what: 'review' | 'accept') => {
    setError(null);
    try {
      if (what === 'review') {
        const r = await evals.review(e.id, chosen.map((i) => i.item), 'suspected label error');
        setDone(`${r.count} item(s) sent to review.`);
      } else {
        const r = await evals.accept(e.id, chosen.map((i) => ({ item: i.item, label: i.suggested })));
        setDone(`${r.count} suggested label(s) accepted.`);
      }
      setChecked(new Set());
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  if (error) return <ErrorBox error={error} />;
  if (!page) return <Loading what="suspected label errors" />;
  if (!page.computed)
    return (
      <p class="empty" data-testid="label-issues-none">
        This evaluation did not look for label errors. Start a new evaluation with "Find suspected label errors", or run fsml
        eval --find-label-issues.
      </p>
    );
  return (
    <section class="cell-items" data-testid="label-issues">
      <h2>
        Suspected label errors <span class="muted">({page.total.toLocaleString()})</span>
      </h2>
      {reviewer && (
        <div class="actions eval-actions">
          <button type="button" class="primary small" disabled={chosen.length === 0} onClick={() => act('review')} data-testid="issues-send-to-review">
            Send to review ({chosen.length})
          </button>
          <button type="button" class="secondary small" disabled={chosen.length === 0} onClick={() => act('accept')} data-testid="accept-suggested">
            Accept suggested label ({chosen.length})
          </button>
        </div>
      )}
      {done && <p class="ok-box" role="status">{done}</p>}
      {page.items.length === 0 ? (
        <p class="empty">No suspected label errors.</p>
      ) : (
        <ul class="eval-grid">
          {page.items.map((i) => (
            <ItemCard key={i.item} project={e.project} image={e.task_type === 'image-classification'} item={i}
                      checked={checked.has(i.item)} selectable={reviewer}
                      onToggle={() => setChecked((s) => { const n = new Set(s); if (n.has(i.item)) n.delete(i.item); else n.add(i.item); return n; })}>
              <div class="eval-labels">
                <span>given <strong>{i.given}</strong></span>
                <span>suggested <strong>{i.suggested}</strong></span>
              </div>
              <div class="muted">score {fmt(i.score)}</div>
            </ItemCard>
          ))}
        </ul>
      )}
      <Pager offset={offset} total={page.total} onPage={setOffset} />
    </section>
  );
}

function ComparePicker({ e }: { e: EvalDetail }) {
  const [others, setOthers] = useState<EvalSummary[]>([]);
  useEffect(() => {
    evals
      .list({ project: e.project })
      .then((r) => setOthers(r.evaluations.filter((x) => x.id !== e.id)))
      .catch(() => setOthers([]));
  }, [e.id, e.project]);
  if (others.length === 0) return null;
  return (
    <label class="field inline-field">
      <span>Compare with…</span>
      <select data-testid="compare-with" value=""
              onChange={(ev) => {
                const v = (ev.target as HTMLSelectElement).value;
                if (v) navigate(`/evaluations/compare?a=${e.id}&b=${v}`);
              }}>
        <option value="">choose an evaluation</option>
        {others.map((o) => (
          <option key={o.id} value={o.id}>
            #{o.id} {o.model} on {o.dataset} {o.split} (accuracy {fmt(o.accuracy)})
          </option>
        ))}
      </select>
    </label>
  );
}

type Tab = 'confusion' | 'classes' | 'mistakes' | 'issues';

export function EvaluationPage({ id }: { id: string }) {
  const n = Number(id);
  useTitle(`Evaluation #${id}`);
  const [e, setE] = useState<EvalDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tab, setTab] = useState<Tab>('confusion');
  const [cell, setCell] = useState<Cell | null>(null);
  useEffect(() => {
    if (!Number.isInteger(n) || n <= 0) {
      setError(`There is no evaluation "${id}".`);
      return;
    }
    evals
      .get(n)
      .then(setE)
      .catch((err) => setError(errorMessage(err)));
  }, [n, id]);
  if (error) return <section><PageTitle>Evaluation #{id}</PageTitle><ErrorBox error={error} /></section>;
  if (!e) return <Loading what="the evaluation" />;
  const labels = e.metrics.labels;
  return (
    <section class="eval-page">
      <nav class="breadcrumbs" aria-label="Breadcrumbs">
        <Link href="/evaluations">Evaluations</Link> <span aria-hidden="true">/</span> <span>#{e.id}</span>
      </nav>
      <div class="page-head">
        <PageTitle>Evaluation #{e.id}</PageTitle>
        <ComparePicker e={e} />
      </div>
      <p class="muted">
        {e.model} on <Link href={`/projects/${encodeURIComponent(e.project)}`}>{e.dataset}</Link> {e.split}:{' '}
        {e.metrics.items.toLocaleString()} items, {e.summary.mistakes.toLocaleString()} mistakes. {formatTime(e.created_at)} by{' '}
        {e.created_by}.
      </p>
      <MetricsTable e={e} />
      <Tabs<Tab>
        label="Evaluation views"
        current={tab}
        onSelect={setTab}
        tabs={[
          { id: 'confusion', title: 'Confusion matrix' },
          { id: 'classes', title: 'Per class & calibration' },
          { id: 'mistakes', title: 'Most confident mistakes' },
          { id: 'issues', title: 'Suspected label errors' },
        ]}
      />
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} class="eval-panel">
        {tab === 'confusion' && (
          <>
            <ConfusionMatrix e={e} selected={cell} onSelect={setCell} />
            {cell && (
              <CellItems e={e} query={{ true: labels[cell.t], pred: labels[cell.p] }} testId="cell-items"
                         title={`True ${labels[cell.t]}, predicted ${labels[cell.p]}`} />
            )}
          </>
        )}
        {tab === 'classes' && (
          <div class="eval-figures">
            <PerClassBars e={e} />
            <Calibration e={e} />
          </div>
        )}
        {tab === 'mistakes' && <CellItems e={e} query={{ mistakes: true }} testId="mistakes" title="Most confident mistakes" />}
        {tab === 'issues' && <LabelIssues e={e} />}
      </div>
    </section>
  );
}
