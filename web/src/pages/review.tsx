import { useEffect, useRef, useState } from 'preact/hooks';
import { errorMessage } from '../api/client';
import { projects as projectsApi, review as reviewApi } from '../api/endpoints';
import type { Project, ReviewItem } from '../api/types';
import { ErrorBox, ItemContent, LabelButton, Loading, PageTitle, ProjectCrumbs, Swatch, useTitle } from '../components/common';
import { announce } from '../lib/announce';
import { count, formatDate, shortId } from '../lib/format';
import { isTyping, labelForKey } from '../lib/hotkeys';

export function ReviewPage({ name }: { name: string }) {
  useTitle(`Review ${name}`);
  const [project, setProject] = useState<Project | null>(null);
  const [items, setItems] = useState<ReviewItem[] | null>(null);
  const [total, setTotal] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [decided, setDecided] = useState(0);
  const itemRef = useRef<HTMLDivElement>(null);
  // Items decided here whose answer has not come: a reload must not show them.
  const inFlight = useRef(new Set<string>());

  const load = () =>
    reviewApi
      .list(name, 50)
      .then((r) => {
        // New items go after those on screen, so the current one stays put.
        setItems((prev) => {
          const fresh = r.items.filter((i) => !inFlight.current.has(i.item_id));
          if (!prev) return fresh;
          const have = new Set(prev.map((i) => i.item_id));
          return [...prev, ...fresh.filter((i) => !have.has(i.item_id))];
        });
        setTotal(r.total);
      })
      .catch((e) => setError(errorMessage(e)));

  useEffect(() => {
    projectsApi
      .get(name)
      .then(setProject)
      .catch((e) => setError(errorMessage(e)));
    void load();
  }, [name]);

  const current = items?.[0] ?? null;
  const labels = project?.labels ?? [];
  const colors = new Map(labels.map((l) => [l.name, l.color]));

  const decide = async (label: string) => {
    if (!current || !items) return;
    const item = current;
    inFlight.current.add(item.item_id);
    const rest = items.slice(1);
    setItems(rest);
    setTotal((t) => Math.max(0, t - 1));
    setDecided((d) => d + 1);
    setError(null);
    announce(`Item ${shortId(item.item_id)}: ${label}`);
    if (rest.length < 5) void load();
    try {
      await reviewApi.decide(name, item.item_id, label);
    } catch (e) {
      setItems((list) => [item, ...(list ?? []).filter((i) => i.item_id !== item.item_id)]);
      setTotal((t) => t + 1);
      setDecided((d) => d - 1);
      const msg = `Item ${shortId(item.item_id)} kept its review: ${errorMessage(e)}`;
      setError(msg);
      announce(msg, 'assertive');
    } finally {
      inFlight.current.delete(item.item_id);
    }
  };

  const pass = () => {
    if (!items || items.length < 2) return;
    setItems([...items.slice(1), items[0]!]);
    announce('Passed to the next item');
  };

  const onKey = (e: KeyboardEvent) => {
    const t = e.target;
    if (isTyping(t)) return;
    if (e.ctrlKey || e.metaKey || e.altKey || e.repeat || !current) return;
    if ((e.key === 'Enter' || e.key === ' ') && (t instanceof HTMLButtonElement || t instanceof HTMLAnchorElement)) return;
    const label = labelForKey(labels, e.key);
    if (label) {
      e.preventDefault();
      void decide(label.name);
    } else if (e.key === 'Enter' && current.suggestion && colors.has(current.suggestion.label)) {
      e.preventDefault();
      void decide(current.suggestion.label);
    } else if (e.key.toLowerCase() === 's') {
      e.preventDefault();
      pass();
    }
  };
  const handler = useRef(onKey);
  handler.current = onKey;
  useEffect(() => {
    const l = (e: KeyboardEvent) => handler.current(e);
    document.addEventListener('keydown', l);
    return () => document.removeEventListener('keydown', l);
  }, []);

  const votes = new Map<string, number>();
  for (const a of current?.annotations ?? []) votes.set(a.label, (votes.get(a.label) ?? 0) + 1);

  return (
    <section class="review-page">
      <ProjectCrumbs name={name} />
      <div class="page-head">
        <PageTitle>Review</PageTitle>
        <p class="muted" data-testid="review-total">
          {count(total, 'item')} to review{decided ? ` · ${decided} decided here` : ''}
        </p>
      </div>
      <ErrorBox error={error} onDismiss={() => setError(null)} />
      {(!items || !project) && !error && <Loading what="the review queue" />}
      {items && project && !current && (
        <div class="queue-empty" role="status" data-testid="review-empty">
          <h2>Nothing to review</h2>
          <p>No item has disagreeing labels or an open flag.</p>
          <button type="button" class="secondary" onClick={() => void load()}>
            Check again
          </button>
        </div>
      )}
      {current && project && (
        <div class="review-layout">
          <div class="review-main" data-testid="review-item" data-item-id={current.item_id} ref={itemRef}>
            <div class="review-content">
              <ItemContent project={name} itemId={current.item_id} mediaType={current.media_type} text={current.text} size="medium" />
            </div>
            <div class="review-details">
              <p>
                <strong>Item {shortId(current.item_id)}</strong>{' '}
                {current.reasons.map((r) => (
                  <span key={r} class={'tag reason-' + r}>
                    {r === 'disagreement' ? 'Disagreement' : r === 'flag' ? 'Flagged' : r === 'sample' ? 'Random sample' : r}
                  </span>
                ))}
              </p>
              <h2 class="small-heading">Labels given</h2>
              {current.annotations.length === 0 ? (
                <p class="muted">No labels yet.</p>
              ) : (
                <ul class="plain-list" data-testid="review-annotations">
                  {current.annotations.map((a, i) => (
                    <li key={i}>
                      <strong>{a.user}</strong>: <Swatch color={colors.get(a.label) ?? '#888888'} />
                      {a.label} <span class="muted">{formatDate(a.created_at)}</span>
                    </li>
                  ))}
                </ul>
              )}
              {current.flags.length > 0 && (
                <>
                  <h2 class="small-heading">Flags</h2>
                  <ul class="plain-list" data-testid="review-flags">
                    {current.flags.map((f, i) => (
                      <li key={i}>
                        <strong>{f.user}</strong>: “{f.comment}” <span class="muted">{formatDate(f.created_at)}</span>
                      </li>
                    ))}
                  </ul>
                </>
              )}
              {current.suggestion && (
                <p class="suggestion" data-testid="suggestion">
                  Model suggestion: <Swatch color={colors.get(current.suggestion.label) ?? '#888888'} />
                  <strong>{current.suggestion.label}</strong> ({Math.round(current.suggestion.confidence * 100)}%) ·{' '}
                  <kbd>Enter</kbd> accepts
                </p>
              )}
              <h2 class="small-heading">Final label</h2>
              <div class="label-buttons" role="group" aria-label="Final label">
                {labels.map((l, i) => (
                  <LabelButton
                    key={l.name}
                    label={l}
                    index={i}
                    testId={`review-button-${l.name}`}
                    onClick={() => void decide(l.name)}
                  >
                    {votes.get(l.name) ? <span class="vote-count"> · {count(votes.get(l.name)!, 'vote')}</span> : null}
                  </LabelButton>
                ))}
              </div>
              <div class="actions">
                <button type="button" class="secondary" onClick={pass} disabled={(items?.length ?? 0) < 2}>
                  <kbd>S</kbd> Later
                </button>
              </div>
            </div>
          </div>
          {items && items.length > 1 && (
            <aside class="review-next" aria-label="Next in review">
              <h2 class="small-heading">Next ({items.length - 1})</h2>
              <ol class="plain-list">
                {items.slice(1, 15).map((i) => (
                  <li key={i.item_id}>
                    {shortId(i.item_id)} · {i.reasons.join(', ')} · {count(i.annotations.length, 'label')}
                  </li>
                ))}
              </ol>
            </aside>
          )}
        </div>
      )}
    </section>
  );
}
