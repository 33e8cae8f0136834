// Sends labels and undos to the server in order, retrying with backoff, and
// keeps what is not yet saved in localStorage so that a reload sends it again
// (the server de-duplicates labels by request_id).
//
// Invariants: `ops` holds, in the order they were made, the labels and undos
// the server has not confirmed; at most one request is in flight, for the
// leading run of labels (up to 100) or the leading undo. A label the server
// refuses for good (400, 403, 404, 409) moves to `failed`, where the user sees
// it with the server's message until they dismiss it: nothing is dropped
// without a word.

import { ApiError, errorMessage } from '../../api/client';
import { labeling } from '../../api/endpoints';
import type { AnnotationResult } from '../../api/types';
import { Store } from '../../lib/store';

export interface LabelOp {
  kind: 'label';
  request_id: string;
  item_id: string;
  label: string;
  attempts: number;
  at: number; // ms since the epoch, when it was made
}

export interface UndoOp {
  kind: 'undo';
  request_id: string; // of the label it withdraws
  item_id: string;
  annotation_id: number | null; // known once that label is saved
  attempts: number;
  at: number;
}

export type Op = LabelOp | UndoOp;

export interface FailedOp {
  request_id: string;
  item_id: string;
  label: string;
  kind: 'label' | 'undo';
  message: string;
}

export interface SaverState {
  ops: readonly Op[];
  failed: readonly FailedOp[];
  saving: boolean;
  retryAt: number | null; // when the next try goes out after a failure
  lastError: string | null; // the latest transient failure
}

export interface SaverEvents {
  // `recovered`: earlier tries of these labels had failed.
  saved?: (results: AnnotationResult[], recovered: boolean) => void;
  undone?: (itemId: string) => void;
  // A label or undo the server refused for good.
  refused?: (op: FailedOp) => void;
}

const BATCH = 100;
const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000, 30000];

// 8-64 of [A-Za-z0-9_-]: 32 hex digits from the platform's random source
// (crypto.getRandomValues also works outside secure contexts).
export function newRequestId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

interface Stored {
  v: 1;
  ops: Op[];
  failed: FailedOp[];
}

export class AnnotationSaver {
  readonly state: Store<SaverState>;
  private ops: Op[] = [];
  private failed: FailedOp[] = [];
  // Annotation ids of labels saved in this page's life, by request id.
  private saved = new Map<string, number>();
  private savedItem = new Map<string, string>();
  // Request ids this instance finished (saved, undone, cancelled, failed):
  // removed from storage even where another tab wrote them back.
  private finished = new Set<string>();
  private inFlight = false;
  private inFlightCount = 0;
  private saving = false;
  private lastError: string | null = null;
  private retryAt: number | null = null;
  private timer: number | null = null;
  private failures = 0;
  private soloLeft = 0; // after a refused batch, send its labels one at a time
  private stopped = false;
  private readonly key: string;
  private readonly onOnline = () => this.retryNow();

  constructor(
    private readonly project: string,
    user: string,
    private readonly events: SaverEvents = {},
  ) {
    this.key = `fsml.unsaved.v1.${user}.${project}`;
    this.state = new Store<SaverState>({ ops: [], failed: [], saving: false, retryAt: null, lastError: null });
    const stored = this.read();
    this.ops = stored.ops;
    this.failed = stored.failed;
    this.publish();
    window.addEventListener('online', this.onOnline);
    if (this.ops.length) this.schedule(0);
  }

  dispose(): void {
    this.stopped = true;
    if (this.timer !== null) window.clearTimeout(this.timer);
    window.removeEventListener('online', this.onOnline);
  }

  // Queues labels; returns their request ids, in order.
  add(labels: { item_id: string; label: string }[]): string[] {
    const now = Date.now();
    const ops: LabelOp[] = labels.map((l) => ({
      kind: 'label',
      request_id: newRequestId(),
      item_id: l.item_id,
      label: l.label,
      attempts: 0,
      at: now,
    }));
    this.ops.push(...ops);
    this.changed();
    if (!this.inFlight && this.timer === null) this.schedule(0);
    return ops.map((o) => o.request_id);
  }

  // Withdraws the label `requestId`: dropped here when it never left, else an
  // undo queued behind it. Returns false when the label is unknown.
  undo(requestId: string): boolean {
    const i = this.ops.findIndex((o) => o.kind === 'label' && o.request_id === requestId);
    const failedAt = this.failed.findIndex((f) => f.kind === 'label' && f.request_id === requestId);
    if (failedAt >= 0) {
      this.failed.splice(failedAt, 1);
      this.finished.add(requestId);
      this.changed();
      return true;
    }
    const op = i >= 0 ? (this.ops[i] as LabelOp) : null;
    if (op && op.attempts === 0 && !(this.inFlight && i < this.inFlightCount)) {
      this.ops.splice(i, 1);
      this.finished.add(requestId);
      this.changed();
      return true;
    }
    const id = this.saved.get(requestId);
    if (!op && id === undefined) return false;
    const itemId = op ? op.item_id : this.savedItem.get(requestId) ?? '';
    this.ops.push({ kind: 'undo', request_id: requestId, item_id: itemId, annotation_id: id ?? null, attempts: 0, at: Date.now() });
    this.changed();
    if (!this.inFlight && this.timer === null) this.schedule(0);
    return true;
  }

  // Items whose labels are not saved yet: the queue must not hand them out again.
  pendingItemIds(): string[] {
    return this.ops.filter((o) => o.kind === 'label').map((o) => o.item_id);
  }

  dismissFailed(requestId?: string): void {
    this.failed = requestId === undefined ? [] : this.failed.filter((f) => f.request_id !== requestId);
    this.changed();
  }

  retryNow(): void {
    if (this.stopped || this.inFlight) return;
    this.failures = 0;
    if (this.timer !== null) window.clearTimeout(this.timer);
    this.timer = null;
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer !== null) window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, ms);
    this.publish(ms > 0 ? Date.now() + ms : null);
  }

  private async flush(): Promise<void> {
    if (this.inFlight || this.stopped || !this.ops.length) return;
    const head = this.ops[0]!;
    this.inFlight = true;
    let retryIn: number | null = null;
    if (head.kind === 'undo') {
      this.inFlightCount = 1;
      retryIn = await this.sendUndo(head);
    } else {
      const limit = this.soloLeft > 0 ? 1 : BATCH;
      const batch: LabelOp[] = [];
      for (const o of this.ops) {
        if (o.kind !== 'label' || batch.length >= limit) break;
        batch.push(o);
      }
      this.inFlightCount = batch.length;
      retryIn = await this.sendLabels(batch);
    }
    this.inFlight = false;
    this.inFlightCount = 0;
    if (this.stopped) return;
    if (retryIn !== null) this.schedule(retryIn);
    else if (this.ops.length) this.schedule(0);
    else this.publish();
  }

  // Returns the delay before the next try, or null to go on at once.
  private async sendLabels(batch: LabelOp[]): Promise<number | null> {
    for (const o of batch) o.attempts++;
    this.changed(true);
    try {
      const res = await labeling.annotate(
        this.project,
        batch.map((o) => ({ item_id: o.item_id, label: o.label, request_id: o.request_id })),
      );
      const done = new Set(batch.map((o) => o.request_id));
      for (const r of res.annotations) {
        this.saved.set(r.request_id, r.id);
        this.savedItem.set(r.request_id, r.item_id);
        for (const o of this.ops) if (o.kind === 'undo' && o.request_id === r.request_id) o.annotation_id = r.id;
      }
      this.remove(done);
      if (this.soloLeft > 0) this.soloLeft = Math.max(0, this.soloLeft - batch.length);
      const recovered = this.failures > 0;
      this.failures = 0;
      this.changed(false, null);
      this.events.saved?.(res.annotations, recovered);
      return null;
    } catch (e) {
      return this.failedWith(e, () => {
        if (batch.length > 1) {
          // One bad label refuses the whole batch: find it by sending them one by one.
          this.soloLeft = batch.length;
          return;
        }
        const o = batch[0]!;
        this.remove(new Set([o.request_id]));
        // An undo queued behind a refused label has nothing to withdraw.
        this.ops = this.ops.filter((x) => !(x.kind === 'undo' && x.request_id === o.request_id));
        if (this.soloLeft > 0) this.soloLeft--;
        this.refuse({ request_id: o.request_id, item_id: o.item_id, label: o.label, kind: 'label', message: errorMessage(e) });
      });
    }
  }

  private async sendUndo(op: UndoOp): Promise<number | null> {
    if (op.annotation_id === null) {
      // Its label is gone from here without an id (refused, or sent by a page
      // that was reloaded before the answer): nothing known to withdraw.
      this.remove(new Set([op.request_id]), 'undo');
      this.refuse({ request_id: op.request_id, item_id: op.item_id, label: '', kind: 'undo', message: 'The label to undo was not saved.' });
      return null;
    }
    op.attempts++;
    this.changed(true);
    try {
      await labeling.undo(this.project, op.annotation_id);
      this.remove(new Set([op.request_id]), 'undo');
      this.failures = 0;
      this.changed(false, null);
      this.events.undone?.(op.item_id);
      return null;
    } catch (e) {
      return this.failedWith(e, () => {
        this.remove(new Set([op.request_id]), 'undo');
        this.refuse({ request_id: op.request_id, item_id: op.item_id, label: '', kind: 'undo', message: errorMessage(e) });
      });
    }
  }

  // A transient failure (no answer, 429, 5xx, an expired session) waits and
  // tries again; anything else is final for the request: `refused` runs.
  private failedWith(e: unknown, refused: () => void): number | null {
    const err = e instanceof ApiError ? e : new ApiError(0, 'network', errorMessage(e));
    if (err.transient || err.status === 401) {
      this.failures++;
      const base = BACKOFF_MS[Math.min(this.failures - 1, BACKOFF_MS.length - 1)]!;
      const wait = err.retryAfterSeconds !== null ? Math.max(err.retryAfterSeconds * 1000, base) : base;
      this.changed(false, err.message);
      return wait + Math.floor(Math.random() * 250);
    }
    refused();
    this.changed(false, null);
    return null;
  }

  private refuse(f: FailedOp): void {
    this.failed.push(f);
    this.finished.add(f.request_id);
    this.events.refused?.(f);
  }

  private remove(ids: Set<string>, kind: Op['kind'] = 'label'): void {
    this.ops = this.ops.filter((o) => !(o.kind === kind && ids.has(o.request_id)));
    for (const id of ids) this.finished.add(id);
  }

  private changed(saving?: boolean, lastError?: string | null): void {
    if (saving !== undefined) this.saving = saving;
    if (lastError !== undefined) this.lastError = lastError;
    this.write();
    this.publish();
  }

  private publish(retryAt?: number | null): void {
    if (retryAt !== undefined) this.retryAt = retryAt;
    this.state.set({
      ops: [...this.ops],
      failed: [...this.failed],
      saving: this.saving,
      retryAt: this.ops.length ? this.retryAt : null,
      lastError: this.ops.length ? this.lastError : null,
    });
  }

  private read(): Stored {
    try {
      const raw = window.localStorage.getItem(this.key);
      if (!raw) return { v: 1, ops: [], failed: [] };
      const s = JSON.parse(raw) as Partial<Stored>;
      if (s.v !== 1 || !Array.isArray(s.ops)) return { v: 1, ops: [], failed: [] };
      return { v: 1, ops: s.ops, failed: Array.isArray(s.failed) ? s.failed : [] };
    } catch {
      return { v: 1, ops: [], failed: [] };
    }
  }

  // Writes this page's ops, keeping those another tab of the same project
  // stored meanwhile.
  private write(): void {
    const mine = new Set(this.ops.map((o) => o.kind + o.request_id));
    const failedMine = new Set(this.failed.map((f) => f.kind + f.request_id));
    const other = this.read();
    const ops = [
      ...other.ops.filter((o) => !mine.has(o.kind + o.request_id) && !this.finished.has(o.request_id)),
      ...this.ops,
    ];
    const failed = [
      ...other.failed.filter((f) => !failedMine.has(f.kind + f.request_id) && !this.finished.has(f.request_id)),
      ...this.failed,
    ];
    try {
      if (!ops.length && !failed.length) window.localStorage.removeItem(this.key);
      else window.localStorage.setItem(this.key, JSON.stringify({ v: 1, ops, failed } satisfies Stored));
    } catch {
      // Storage full or disabled: the labels are still sent from memory.
    }
  }
}
