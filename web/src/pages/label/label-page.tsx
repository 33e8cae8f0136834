// The labeling page: one item at a time or a grid of 24, driven by the
// keyboard. Labels show the next item at once and are saved behind the
// screen (see saver.ts); the queue keeps items ahead (see queue.ts).

import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, errorMessage } from '../../api/client';
import { labeling, projects as projectsApi } from '../../api/endpoints';
import type { AnnotationResult, HistoryEntry, Label, ProjectDetail, QueueItem } from '../../api/types';
import { ErrorBox, ItemContent, LabelButton, Loading, PageTitle, ProjectCrumbs, Swatch, useTitle } from '../../components/common';
import { Modal } from '../../components/modal';
import { announce } from '../../lib/announce';
import { count, percent, shortId } from '../../lib/format';
import { isTyping, keyOf, labelForKey } from '../../lib/hotkeys';
import { Markdown } from '../../lib/markdown';
import { Link } from '../../lib/router';
import { useSession } from '../../lib/session';
import { useStore } from '../../lib/store';
import { GRID_PAGE, Grid, type GridSelection, gridColumns } from './grid';
import { HistoryPanel } from './history';
import { ItemQueue } from './queue';
import { AnnotationSaver, type FailedOp } from './saver';

type Mode = 'single' | 'grid';

// One labeling action (a key press or click), undone as a whole.
interface Action {
  entries: { request_id: string; item: QueueItem; label: string }[];
}

const AHEAD_SINGLE = 10;
const AHEAD_GRID = GRID_PAGE + 12;
const RATE_WINDOW_MS = 5 * 60 * 1000;
const EMPTY_SELECTION: GridSelection = { selected: new Set(), focus: 0, anchor: 0 };

export function LabelPage({ name }: { name: string }) {
  useTitle(`Label ${name}`);
  const user = useSession()?.user ?? null;
  const [project, setProject] = useState<ProjectDetail | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);

  useEffect(() => {
    projectsApi
      .get(name)
      .then(setProject)
      .catch((e) => setLoadError(errorMessage(e)));
  }, [name]);

  if (loadError) {
    return (
      <section>
        <PageTitle>Label {name}</PageTitle>
        <ErrorBox error={loadError} />
      </section>
    );
  }
  if (!project || !user) return <Loading what="the project" />;
  return <Labeler key={name} initial={project} user={user.name} />;
}

function Labeler({ initial, user }: { initial: ProjectDetail; user: string }) {
  const name = initial.name;
  const [project, setProject] = useState(initial);
  const labels = project.labels;
  const images = project.task_type === 'image-classification';
  const modeKey = `fsml.labelMode.${name}`;
  const [mode, setMode] = useState<Mode>(() =>
    images && window.localStorage.getItem(modeKey) === 'grid' ? 'grid' : 'single',
  );

  // Grid page state; refs mirror it for the queue's exclude list and the key handler.
  const [page, setPageState] = useState<QueueItem[]>([]);
  const [given, setGiven] = useState<Map<string, string>>(new Map());
  const [selection, setSelection] = useState<GridSelection>(EMPTY_SELECTION);
  const pageRef = useRef<QueueItem[]>([]);
  // The ref changes at once: the queue's next ask must exclude the page.
  const setPage = (items: QueueItem[]) => {
    pageRef.current = items;
    setPageState(items);
  };
  const gridRef = useRef<HTMLDivElement>(null);
  const itemRef = useRef<HTMLDivElement>(null);

  const transit = useRef(new Set<string>()); // skips and flags in flight
  const undoStack = useRef<Action[]>([]);
  const labelTimes = useRef<number[]>([]);
  const openedAt = useRef(Date.now());
  const [sessionCount, setSessionCount] = useState(0);
  const [, setTick] = useState(0);
  const [helpOpen, setHelpOpen] = useState(false);
  const [flagTargets, setFlagTargets] = useState<QueueItem[] | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [history, setHistory] = useState<HistoryEntry[] | null>(null);
  const [historyError, setHistoryError] = useState<string | null>(null);

  const loadHistory = useCallback(() => {
    labeling
      .history(name, 50)
      .then((r) => {
        setHistory(r.annotations);
        setHistoryError(null);
      })
      .catch((e) => setHistoryError(errorMessage(e)));
  }, [name]);

  const historyTimer = useRef<number | null>(null);
  const refreshSoon = useCallback(() => {
    if (historyTimer.current !== null) window.clearTimeout(historyTimer.current);
    historyTimer.current = window.setTimeout(() => {
      historyTimer.current = null;
      loadHistory();
      projectsApi
        .get(name)
        .then(setProject)
        .catch(() => {
          // The header keeps the last numbers; the labels themselves are unaffected.
        });
    }, 1500);
  }, [loadHistory, name]);

  const queueRef = useRef<ItemQueue | null>(null);
  const { saver, queue } = useMemo(() => {
    const saver = new AnnotationSaver(name, user, {
      saved: (results: AnnotationResult[], recovered: boolean) => {
        setHistory((h) => {
          const known = new Set((h ?? []).map((e) => e.id));
          const added = results
            .filter((r) => !known.has(r.id))
            .reverse()
            .map((r) => ({ id: r.id, item_id: r.item_id, label: r.label, created_at: r.created_at, withdrawn: false }));
          return [...added, ...(h ?? [])].slice(0, 50);
        });
        // Each label is announced when given; a save is worth a word after trouble.
        if (recovered) announce(`Saved ${count(results.length, 'label')} after a retry`);
        queueRef.current?.refill();
        refreshSoon();
      },
      undone: () => refreshSoon(),
      refused: (f: FailedOp) => {
        const what = f.kind === 'label' ? `The label '${f.label}' for item ${shortId(f.item_id)}` : `Undo for item ${shortId(f.item_id)}`;
        announce(`${what} was not saved: ${f.message}`, 'assertive');
      },
    });
    const queue = new ItemQueue(
      name,
      images,
      () => [...pageRef.current.map((i) => i.item_id), ...saver.pendingItemIds(), ...transit.current],
      AHEAD_SINGLE,
    );
    queueRef.current = queue;
    return { saver, queue };
  }, []); // one saver and one queue for the page's life

  useEffect(() => {
    loadHistory();
    queue.refill();
    const tick = window.setInterval(() => setTick((t) => t + 1), 5000);
    const refresh = window.setInterval(() => {
      projectsApi
        .get(name)
        .then(setProject)
        .catch(() => {
          // Progress in the header stays as it was until the next try.
        });
    }, 30000);
    return () => {
      window.clearInterval(tick);
      window.clearInterval(refresh);
      if (historyTimer.current !== null) window.clearTimeout(historyTimer.current);
      saver.dispose();
      queue.dispose();
    };
  }, []);

  const q = useStore(queue.state);
  const save = useStore(saver.state);

  // Unsaved labels are kept in this browser and sent on the next visit, but
  // leaving with some deserves a question.
  useEffect(() => {
    if (!save.ops.length) return;
    const warn = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [save.ops.length > 0]);

  // Grid: the page starts full and is topped up as items arrive.
  useEffect(() => {
    queue.target = mode === 'grid' ? AHEAD_GRID : AHEAD_SINGLE;
    queue.refill();
  }, [mode]);
  useEffect(() => {
    if (mode !== 'grid' || page.length >= GRID_PAGE || !q.buffer.length) return;
    setPage([...page, ...queue.take(GRID_PAGE - page.length)]);
  }, [mode, page, q.buffer]);

  const current = mode === 'single' ? q.buffer[0] ?? null : null;

  // Keeps keyboard focus on the grid's focused cell.
  useEffect(() => {
    if (mode !== 'grid' || helpOpen || flagTargets) return;
    const active = document.activeElement;
    const inGrid = active && gridRef.current?.contains(active);
    if (!inGrid && active && active !== document.body && !itemRef.current?.contains(active)) return;
    const cell = gridRef.current?.querySelectorAll<HTMLElement>('[data-testid="grid-cell"]')[selection.focus];
    cell?.focus({ preventScroll: false });
  }, [mode, selection.focus, page]);

  const recordLabels = (n: number) => {
    const now = Date.now();
    for (let i = 0; i < n; i++) labelTimes.current.push(now);
    labelTimes.current = labelTimes.current.filter((t) => t > now - RATE_WINDOW_MS);
    setSessionCount((c) => c + n);
  };

  // Labels items (each with its own label): saved in the background, off the screen now.
  const give = (pairs: { item: QueueItem; label: string }[]) => {
    if (!pairs.length) return;
    const ids = saver.add(pairs.map((p) => ({ item_id: p.item.item_id, label: p.label })));
    undoStack.current.push({ entries: pairs.map((p, k) => ({ request_id: ids[k]!, item: p.item, label: p.label })) });
    if (undoStack.current.length > 200) undoStack.current.shift();
    recordLabels(pairs.length);
    setActionError(null);
    if (mode === 'single') {
      for (const p of pairs) queue.remove(p.item.item_id);
      // Enter on a focused button would click it again: keep focus on the item.
      if (document.activeElement instanceof HTMLButtonElement) itemRef.current?.focus({ preventScroll: true });
    } else {
      queue.markGone(pairs.map((p) => p.item.item_id));
      const next = new Map(given);
      for (const p of pairs) next.set(p.item.item_id, p.label);
      const done = page.every((i) => next.has(i.item_id));
      if (done) {
        nextPage(page, next);
      } else {
        setGiven(next);
        const lastIndex = Math.max(...pairs.map((p) => page.findIndex((i) => i.item_id === p.item.item_id)));
        let focus = page.findIndex((i, k) => k > lastIndex && !next.has(i.item_id));
        if (focus < 0) focus = page.findIndex((i) => !next.has(i.item_id));
        setSelection({ selected: new Set(), focus: Math.max(0, focus), anchor: Math.max(0, focus) });
      }
    }
    const first = pairs[0]!;
    announce(pairs.length === 1 ? first.label : `${pairs.length} items: ${first.label}`);
  };

  // Grid: the next page. Unlabeled items go back to the end of the queue.
  const nextPage = (from: QueueItem[] = page, labeled: Map<string, string> = given) => {
    const rest = from.filter((i) => !labeled.has(i.item_id));
    if (rest.length) queue.push(rest);
    setPage([]);
    const fresh = queue.take(GRID_PAGE);
    setPage(fresh);
    setGiven(new Map());
    setSelection(EMPTY_SELECTION);
    if (from.length) announce(fresh.length ? 'Next page' : 'Page done');
  };

  const switchMode = (to: Mode) => {
    if (to === mode || (to === 'grid' && !images)) return;
    window.localStorage.setItem(modeKey, to);
    queue.target = to === 'grid' ? AHEAD_GRID : AHEAD_SINGLE;
    if (to === 'grid') {
      const fresh = queue.take(GRID_PAGE);
      setPage(fresh);
      setGiven(new Map());
      setSelection(EMPTY_SELECTION);
    } else {
      const rest = page.filter((i) => !given.has(i.item_id));
      setPage([]);
      queue.unshift(rest);
      setPage([]);
      setGiven(new Map());
    }
    setMode(to);
    announce(to === 'grid' ? 'Grid view' : 'Single item view');
  };

  // Grid: the selected cells, else the focused one.
  const gridTargets = (): QueueItem[] => {
    if (selection.selected.size) return page.filter((i) => selection.selected.has(i.item_id));
    const f = page[selection.focus];
    return f ? [f] : [];
  };
  const targets = (): QueueItem[] => (mode === 'single' ? (current ? [current] : []) : gridTargets());

  const labelWith = (label: string) => give(targets().map((item) => ({ item, label })));

  const acceptSuggestion = () => {
    const known = new Set(labels.map((l) => l.name));
    const pairs = targets()
      .filter((i) => i.suggestion && known.has(i.suggestion.label))
      .map((item) => ({ item, label: item.suggestion!.label }));
    if (pairs.length) give(pairs);
    else announce('No suggestion to accept', 'assertive');
  };

  const undo = () => {
    const action = undoStack.current.pop();
    if (!action) {
      announce('Nothing to undo in this session; change older labels in My history.', 'assertive');
      return;
    }
    for (const e of action.entries) saver.undo(e.request_id);
    const items = action.entries.map((e) => e.item);
    labelTimes.current.splice(Math.max(0, labelTimes.current.length - items.length));
    setSessionCount((c) => Math.max(0, c - items.length));
    if (mode === 'single') {
      queue.unshift(items);
    } else {
      const onPage = new Set(page.map((i) => i.item_id));
      const back = items.filter((i) => !onPage.has(i.item_id));
      const nextPageItems = [...back, ...page];
      const next = new Map(given);
      for (const i of items) next.delete(i.item_id);
      setPage(nextPageItems);
      setGiven(next);
      const focus = nextPageItems.findIndex((i) => i.item_id === items[0]!.item_id);
      setSelection({ selected: new Set(), focus: Math.max(0, focus), anchor: Math.max(0, focus) });
    }
    announce(`Undid ${action.entries[0]!.label}${items.length > 1 ? ` on ${items.length} items` : ''}`);
  };

  // Takes items off the screen for a skip or a flag; puts them back if it fails.
  const sendAway = async (items: QueueItem[], what: string, send: (item: QueueItem) => Promise<unknown>) => {
    if (!items.length) return;
    for (const i of items) transit.current.add(i.item_id);
    if (mode === 'single') {
      for (const i of items) queue.remove(i.item_id);
    } else {
      const ids = new Set(items.map((i) => i.item_id));
      const rest = page.filter((i) => !ids.has(i.item_id));
      queue.markGone([...ids]);
      if (rest.length && rest.every((i) => given.has(i.item_id))) nextPage(rest, given);
      else {
        setPage(rest);
        setSelection({ selected: new Set(), focus: Math.min(selection.focus, Math.max(0, rest.length - 1)), anchor: 0 });
        if (!rest.length) nextPage([], new Map());
      }
    }
    announce(items.length === 1 ? `${what} item ${shortId(items[0]!.item_id)}` : `${what} ${items.length} items`);
    const failed: { item: QueueItem; message: string }[] = [];
    await Promise.all(
      items.map(async (item) => {
        for (let attempt = 0; ; attempt++) {
          try {
            await send(item);
            return;
          } catch (e) {
            if (e instanceof ApiError && e.transient && attempt < 3) {
              await new Promise((r) => window.setTimeout(r, 1000 * 2 ** attempt));
              continue;
            }
            failed.push({ item, message: errorMessage(e) });
            return;
          }
        }
      }),
    );
    for (const i of items) transit.current.delete(i.item_id);
    if (failed.length) {
      queue.unshift(failed.map((f) => f.item));
      const msg = `${what} failed for ${count(failed.length, 'item')}: ${failed[0]!.message}`;
      setActionError(msg);
      announce(msg, 'assertive');
    }
    queue.refill();
  };

  const skip = () => void sendAway(targets(), 'Skipped', (i) => labeling.skip(name, i.item_id));

  const flag = (comment: string) => {
    const items = flagTargets ?? [];
    setFlagTargets(null);
    void sendAway(items, 'Flagged', (i) => labeling.flag(name, i.item_id, comment));
  };

  const openFlag = () => {
    const t = targets();
    if (t.length) setFlagTargets(t);
  };

  // Grid keyboard moves.
  const moveFocus = (delta: number, extend: boolean) => {
    if (!page.length) return;
    const to = Math.min(page.length - 1, Math.max(0, selection.focus + delta));
    if (extend) {
      const [a, b] = selection.anchor <= to ? [selection.anchor, to] : [to, selection.anchor];
      const next = new Set<string>();
      for (let i = a; i <= b; i++) next.add(page[i]!.item_id);
      setSelection({ selected: next, focus: to, anchor: selection.anchor });
    } else {
      setSelection({ ...selection, focus: to, anchor: to });
    }
  };

  const toggleFocused = () => {
    const f = page[selection.focus];
    if (!f) return;
    const next = new Set(selection.selected);
    if (next.has(f.item_id)) next.delete(f.item_id);
    else next.add(f.item_id);
    setSelection({ ...selection, selected: next, anchor: selection.focus });
  };

  const onKey = (e: KeyboardEvent) => {
    if (helpOpen || flagTargets || e.defaultPrevented || isTyping(e.target)) return;
    const onControl =
      e.target instanceof HTMLElement && ['BUTTON', 'A', 'SUMMARY'].includes(e.target.tagName);
    const key = e.key;
    if ((e.ctrlKey || e.metaKey) && !e.altKey && key.toLowerCase() === 'z') {
      e.preventDefault();
      if (!e.repeat) undo();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (mode === 'grid') {
      const cols = gridColumns(gridRef.current);
      const moves: Record<string, number> = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -cols, ArrowDown: cols };
      const delta = moves[key];
      if (delta !== undefined) {
        e.preventDefault();
        moveFocus(delta, e.shiftKey);
        return;
      }
      if (key === ' ' && !onControl) {
        e.preventDefault();
        toggleFocused();
        return;
      }
      if (key === 'Escape' && selection.selected.size) {
        e.preventDefault();
        setSelection({ ...selection, selected: new Set() });
        return;
      }
    }
    if ((key === 'Enter' || key === ' ') && onControl) return; // the control's own action
    const label = labelForKey(labels, key);
    if (label) {
      e.preventDefault();
      if (!e.repeat) labelWith(label.name);
      return;
    }
    if (e.repeat) return;
    switch (key) {
      case 'Enter':
        e.preventDefault();
        acceptSuggestion();
        return;
      case 'Backspace':
        e.preventDefault();
        undo();
        return;
      case '?':
        e.preventDefault();
        setHelpOpen(true);
        return;
    }
    switch (key.toLowerCase()) {
      case 's':
        e.preventDefault();
        skip();
        return;
      case 'f':
        e.preventDefault();
        openFlag();
        return;
      case 'g':
        e.preventDefault();
        if (images) switchMode(mode === 'grid' ? 'single' : 'grid');
        return;
      case 'n':
        if (mode === 'grid') {
          e.preventDefault();
          nextPage();
        }
        return;
    }
  };
  const keyHandler = useRef(onKey);
  keyHandler.current = onKey;
  useEffect(() => {
    const listener = (e: KeyboardEvent) => keyHandler.current(e);
    document.addEventListener('keydown', listener);
    return () => document.removeEventListener('keydown', listener);
  }, []);

  // Header numbers.
  const now = Date.now();
  const recent = labelTimes.current.filter((t) => t > now - RATE_WINDOW_MS).length;
  const minutes = Math.max(0.5, (now - Math.max(openedAt.current, now - RATE_WINDOW_MS)) / 60000);
  const rate = recent / minutes;
  const unsaved = save.ops.length;
  const pr = project.progress;
  const base = `/projects/${encodeURIComponent(name)}`;

  const showEmpty =
    !q.loading && q.exhausted && (mode === 'single' ? !current : page.length === 0) && q.buffer.length === 0;

  return (
    <section class="label-page" aria-label={`Labeling ${name}`}>
      <header class="label-header">
        <div class="label-title">
          <ProjectCrumbs name={name} />
          <PageTitle>Label</PageTitle>
        </div>
        <dl class="label-stats">
          <div>
            <dt>Progress</dt>
            <dd data-testid="project-progress">
              {pr.labeled.toLocaleString()} / {pr.items.toLocaleString()}
              <span class="mini-track" aria-hidden="true">
                <span class="mini-fill" style={{ width: `${percent(pr.labeled, pr.items)}%` }} />
              </span>
            </dd>
          </div>
          <div>
            <dt>My labels</dt>
            <dd data-testid="session-count">{sessionCount}</dd>
          </div>
          <div>
            <dt>Per minute</dt>
            <dd data-testid="label-rate">{rate.toFixed(1)}</dd>
          </div>
          <div>
            <dt>Saving</dt>
            <dd class={'save-status' + (unsaved ? ' pending' : '') + (save.lastError ? ' failing' : '')}>
              <span data-testid="unsaved-count" data-count={unsaved}>
                {unsaved} unsaved
              </span>
              {save.lastError && save.retryAt && (
                <span class="save-error">
                  {' '}
                  · {save.lastError} Retrying in {Math.max(1, Math.ceil((save.retryAt - now) / 1000))} s{' '}
                  <button type="button" class="link-button" onClick={() => saver.retryNow()}>
                    Retry now
                  </button>
                </span>
              )}
              {!save.lastError && unsaved === 0 && <span class="muted"> · all saved</span>}
            </dd>
          </div>
        </dl>
        <div class="label-tools">
          {images && (
            <button
              type="button"
              class="secondary small"
              aria-pressed={mode === 'grid'}
              onClick={() => switchMode(mode === 'grid' ? 'single' : 'grid')}
            >
              <kbd>G</kbd> {mode === 'grid' ? 'Single view' : 'Grid view'}
            </button>
          )}
          <button type="button" class="secondary small" onClick={() => setHelpOpen(true)}>
            <kbd>?</kbd> Keys
          </button>
        </div>
      </header>

      {save.failed.length > 0 && (
        <div class="error-box" role="alert" data-testid="save-failures">
          <strong>{count(save.failed.length, 'change')} the server refused:</strong>
          <ul>
            {save.failed.map((f) => (
              <li key={f.kind + f.request_id}>
                {f.kind === 'label' ? `'${f.label}' for item ${shortId(f.item_id)}` : `undo for item ${shortId(f.item_id)}`}: {f.message}
              </li>
            ))}
          </ul>
          <button type="button" class="secondary small" onClick={() => saver.dismissFailed()}>
            Dismiss
          </button>
        </div>
      )}
      <ErrorBox error={actionError} onDismiss={() => setActionError(null)} />

      <div class="label-layout">
        <div class="label-main">
          {mode === 'single' && current && (
            <div
              class={'label-item' + (images ? ' image' : ' text')}
              data-testid="label-item"
              data-item-id={current.item_id}
              tabIndex={-1}
              ref={itemRef}
              aria-label={`item ${shortId(current.item_id)}`}
            >
              <ItemContent project={name} itemId={current.item_id} mediaType={current.media_type} text={current.text} />
            </div>
          )}
          {mode === 'grid' && page.length > 0 && (
            <Grid
              project={name}
              page={page}
              labels={labels}
              given={given}
              selection={selection}
              onSelection={setSelection}
              containerRef={gridRef}
            />
          )}
          {showEmpty && (
            <div class="queue-empty" data-testid="queue-empty" role="status">
              <h2>Nothing left to label</h2>
              <p>
                {q.remaining
                  ? `${count(q.remaining, 'open item')} wait for other people or are held by them.`
                  : 'Every item has its labels.'}{' '}
                New items or expired locks are picked up by checking again.
              </p>
              <div class="actions">
                <button type="button" class="primary" onClick={() => queue.recheck()}>
                  Check again
                </button>
                <Link href={base} class="button secondary">
                  Back to the project
                </Link>
              </div>
            </div>
          )}
          {!showEmpty && (mode === 'single' ? !current : page.length === 0) && (
            <div class="label-loading" role="status">
              {q.error ? (
                <ErrorBox error={`Could not load items: ${q.error}`} />
              ) : q.blocked ? (
                <p>More items load once the {unsaved} unsaved labels are saved.</p>
              ) : (
                <p class="muted">Loading items…</p>
              )}
            </div>
          )}

          {mode === 'single' && current?.suggestion && (
            <p class="suggestion" data-testid="suggestion">
              Suggestion: <Swatch color={labels.find((l) => l.name === current.suggestion!.label)?.color ?? '#888888'} />
              <strong>{current.suggestion.label}</strong> ({Math.round(current.suggestion.confidence * 100)}%,{' '}
              {current.suggestion.model}) · <kbd>Enter</kbd> accepts
            </p>
          )}
          {mode === 'grid' && (
            <p class="grid-hint" data-testid="grid-status">
              {selection.selected.size ? `${count(selection.selected.size, 'item')} selected` : 'No selection: keys label the focused item'}
              {' · '}
              {given.size} of {page.length} labeled
            </p>
          )}

          <div class="label-buttons" role="group" aria-label="Labels">
            {labels.map((l, i) => (
              <LabelButton
                key={l.name}
                label={l}
                index={i}
                testId={`label-button-${l.name}`}
                disabled={mode === 'single' ? !current : page.length === 0}
                onClick={() => labelWith(l.name)}
              />
            ))}
          </div>
          <div class="label-actions">
            <button type="button" class="secondary" onClick={skip} disabled={!targets().length}>
              <kbd>S</kbd> Skip
            </button>
            <button type="button" class="secondary" onClick={openFlag} disabled={!targets().length}>
              <kbd>F</kbd> Flag for review
            </button>
            <button type="button" class="secondary" onClick={undo}>
              <kbd>⌫</kbd> Undo
            </button>
            {mode === 'grid' && (
              <button type="button" class="secondary" onClick={() => nextPage()} disabled={!page.length}>
                <kbd>N</kbd> Next page
              </button>
            )}
            {q.remaining !== null && <span class="muted remaining">{count(q.remaining, 'open item')} in the project</span>}
          </div>
        </div>

        <aside class="label-side" aria-label="Guidelines and history">
          <details class="side-section" open={window.innerWidth > 900}>
            <summary>Guidelines</summary>
            <Markdown source={project.guidelines} />
          </details>
          <HistoryPanel
            project={name}
            images={images}
            labels={labels}
            entries={history}
            error={historyError}
            pending={save.ops}
            onReload={loadHistory}
            onEdit={(itemId, label) => {
              saver.add([{ item_id: itemId, label }]);
              announce(`Changed item ${shortId(itemId)} to ${label}`);
            }}
          />
        </aside>
      </div>

      {helpOpen && <HelpOverlay labels={labels} images={images} onClose={() => setHelpOpen(false)} />}
      {flagTargets && <FlagDialog items={flagTargets} onCancel={() => setFlagTargets(null)} onSubmit={flag} />}
    </section>
  );
}

function HelpOverlay({ labels, images, onClose }: { labels: Label[]; images: boolean; onClose: () => void }) {
  const taken = (k: string) => labels.find((l) => l.hotkey && l.hotkey.toLowerCase() === k);
  const command = (k: string, what: string) => {
    const l = taken(k.toLowerCase());
    return (
      <tr key={k}>
        <th scope="row">
          <kbd>{k}</kbd>
        </th>
        <td>{l ? `${what} (this key labels '${l.name}' in this project: use the button)` : what}</td>
      </tr>
    );
  };
  return (
    <Modal title="Keyboard shortcuts" onClose={onClose} testId="help-overlay" closeKeys={['?']} class="help">
      <h3 class="small-heading">Labels</h3>
      <ul class="key-labels">
        {labels.map((l, i) => (
          <li key={l.name}>
            {keyOf(l, i) ? <kbd>{keyOf(l, i)}</kbd> : <span class="muted">no key</span>} <Swatch color={l.color} />
            {l.name}
          </li>
        ))}
      </ul>
      <h3 class="small-heading">Commands</h3>
      <table class="table keys">
        <tbody>
          <tr>
            <th scope="row"><kbd>Enter</kbd></th>
            <td>Accept the model's suggestion</td>
          </tr>
          <tr>
            <th scope="row"><kbd>Backspace</kbd> / <kbd>Ctrl</kbd>+<kbd>Z</kbd></th>
            <td>Undo the last label (the item comes back)</td>
          </tr>
          {command('S', 'Skip the item')}
          {command('F', 'Flag the item for review, with a comment')}
          {images && command('G', 'Switch between one item and a grid of 24')}
          {images && command('N', 'Grid: next page')}
          {images && (
            <tr>
              <th scope="row"><kbd>←</kbd> <kbd>→</kbd> <kbd>↑</kbd> <kbd>↓</kbd></th>
              <td>Grid: move (with <kbd>Shift</kbd>: select a range); <kbd>Space</kbd> selects; click, shift-click, ctrl-click too</td>
            </tr>
          )}
          {command('?', 'Show or hide this help')}
        </tbody>
      </table>
      <div class="actions">
        <button type="button" class="primary" onClick={onClose}>
          Close
        </button>
      </div>
    </Modal>
  );
}

function FlagDialog({ items, onCancel, onSubmit }: { items: QueueItem[]; onCancel: () => void; onSubmit: (c: string) => void }) {
  const [comment, setComment] = useState('');
  const [error, setError] = useState<string | null>(null);
  const submit = () => {
    const c = comment.trim();
    if (!c) return setError('Say what is wrong with the item, for the reviewer.');
    if (new TextEncoder().encode(c).length > 2000) return setError('The comment is longer than 2,000 bytes.');
    onSubmit(c);
  };
  return (
    <Modal
      title={items.length === 1 ? `Flag item ${shortId(items[0]!.item_id)} for review` : `Flag ${items.length} items for review`}
      onClose={onCancel}
      testId="flag-dialog"
    >
      <form
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <div class="field">
          <label for="flag-comment">Comment for the reviewer</label>
          <textarea
            id="flag-comment"
            data-autofocus
            rows={3}
            value={comment}
            aria-describedby="flag-hint"
            onInput={(e) => setComment(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' && !e.shiftKey) {
                e.preventDefault();
                submit();
              }
            }}
          />
          <span id="flag-hint" class="hint">
            Enter sends, Shift+Enter starts a new line, Esc cancels.
          </span>
        </div>
        <ErrorBox error={error} />
        <div class="actions">
          <button type="submit" class="primary">
            Flag
          </button>
          <button type="button" class="secondary" onClick={onCancel}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}
