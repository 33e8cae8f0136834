// The items held for labeling: a buffer kept `target` items ahead of the
// screen with GET .../queue/next, whose images are loaded before they show.

import { ApiError, contentUrl, errorMessage } from '../../api/client';
import { labeling } from '../../api/endpoints';
import type { QueueItem } from '../../api/types';
import { Store } from '../../lib/store';

export interface QueueState {
  buffer: readonly QueueItem[];
  remaining: number | null; // open items in the project, from the latest answer
  order: string | null;
  loading: boolean;
  // The server had nothing more for us on the latest ask.
  exhausted: boolean;
  // Too many labels wait to be saved to ask for more (see MAX_EXCLUDE).
  blocked: boolean;
  error: string | null;
}

// Item ids are 64 hex digits; the server reads at most 16 KiB of headers.
const MAX_EXCLUDE = 150;
const RECHECK_EMPTY_MS = 30000;

export class ItemQueue {
  readonly state = new Store<QueueState>({
    buffer: [],
    remaining: null,
    order: null,
    loading: false,
    exhausted: false,
    blocked: false,
    error: null,
  });
  private buffer: QueueItem[] = [];
  private images = new Map<string, HTMLImageElement>();
  private loading = false;
  private exhausted = false;
  private failures = 0;
  private timer: number | null = null;
  private stopped = false;
  // Ids that left the buffer in this page's life (labeled, skipped, flagged):
  // never taken back from an answer that crossed with them.
  private gone = new Set<string>();

  constructor(
    private readonly project: string,
    private readonly images_: boolean,
    // Ids held elsewhere (on screen, labels not yet saved, skips in flight).
    private readonly heldElsewhere: () => string[],
    public target = 10,
  ) {}

  dispose(): void {
    this.stopped = true;
    if (this.timer !== null) window.clearTimeout(this.timer);
    this.images.clear();
  }

  get items(): readonly QueueItem[] {
    return this.buffer;
  }

  // Takes up to `n` items off the front. The caller holds them from now on
  // (heldElsewhere() lists them before the next ask, which waits a microtask).
  take(n: number): QueueItem[] {
    const out = this.buffer.splice(0, n);
    this.changed();
    this.refillSoon();
    return out;
  }

  // The item left the screen for good (labeled, skipped, flagged).
  remove(itemId: string): void {
    this.gone.add(itemId);
    this.buffer = this.buffer.filter((i) => i.item_id !== itemId);
    this.images.delete(itemId);
    this.changed();
    this.refillSoon();
  }

  markGone(itemIds: string[]): void {
    for (const id of itemIds) {
      this.gone.add(id);
      this.images.delete(id);
    }
    this.refillSoon();
  }

  // Puts items back at the front (an undo, a failed skip, grid to single view).
  unshift(items: QueueItem[]): void {
    const ids = new Set(items.map((i) => i.item_id));
    for (const id of ids) this.gone.delete(id);
    this.buffer = [...items, ...this.buffer.filter((i) => !ids.has(i.item_id))];
    for (const i of items) this.preload(i);
    this.changed();
  }

  push(items: QueueItem[]): void {
    const ids = new Set(items.map((i) => i.item_id));
    this.buffer = [...this.buffer.filter((i) => !ids.has(i.item_id)), ...items];
    this.changed();
  }

  // Asks again even after an empty answer (new imports, expired locks).
  recheck(): void {
    this.exhausted = false;
    this.failures = 0;
    this.changed();
    this.refill();
  }

  private refillSoon(): void {
    queueMicrotask(() => this.refill());
  }

  refill(): void {
    if (this.stopped || this.loading || this.timer !== null) return;
    this.pruneExpired();
    const want = this.target - this.buffer.length;
    if (want <= 0 || this.exhausted) return;
    const exclude = [...new Set([...this.buffer.map((i) => i.item_id), ...this.heldElsewhere()])];
    // With too many unsaved labels the address would outgrow the server's
    // limit: wait for the saves (they call refill again).
    const blocked = exclude.length > MAX_EXCLUDE;
    if (blocked !== this.state.get().blocked) this.state.set({ ...this.state.get(), blocked });
    if (blocked) return;
    void this.fetch(Math.min(100, want), exclude);
  }

  private async fetch(n: number, exclude: string[]): Promise<void> {
    this.loading = true;
    this.changed();
    let retry: number | null = null;
    try {
      const res = await labeling.next(this.project, n, exclude);
      if (this.stopped) return;
      const held = new Set([...this.buffer.map((i) => i.item_id), ...this.heldElsewhere()]);
      const fresh = res.items.filter((i) => !held.has(i.item_id) && !this.gone.has(i.item_id));
      for (const i of fresh) this.preload(i);
      this.buffer = [...this.buffer, ...fresh];
      // Nothing new (or only items that already left the screen, such as one
      // whose label the server refused): look again later, not in a loop.
      this.exhausted = fresh.length === 0;
      this.failures = 0;
      this.state.set({ ...this.state.get(), remaining: res.remaining, order: res.order, error: null });
    } catch (e) {
      if (this.stopped) return;
      this.failures++;
      const transient = e instanceof ApiError ? e.transient : true;
      this.state.set({ ...this.state.get(), error: errorMessage(e) });
      if (transient) retry = Math.min(30000, 1000 * 2 ** Math.min(this.failures - 1, 5));
      else this.exhausted = true;
    } finally {
      this.loading = false;
    }
    if (this.stopped) return;
    this.changed();
    if (retry !== null) {
      this.timer = window.setTimeout(() => {
        this.timer = null;
        this.refill();
      }, retry);
    } else if (this.exhausted) {
      // Nothing now; look again later, as long as the page is open.
      this.timer = window.setTimeout(() => {
        this.timer = null;
        if (this.buffer.length < this.target) this.recheck();
      }, RECHECK_EMPTY_MS);
    } else {
      this.refill();
    }
  }

  // Drops items whose lock ran out: the server may have handed them to
  // someone else. They come back with a later answer if still open.
  private pruneExpired(): void {
    const now = Date.now();
    const keep = this.buffer.filter((i, k) => k === 0 || !(Date.parse(i.lock_expires_at) < now));
    if (keep.length !== this.buffer.length) {
      for (const i of this.buffer) if (!keep.includes(i)) this.images.delete(i.item_id);
      this.buffer = keep;
      this.changed();
    }
  }

  // Loads (and decodes) an image before it shows, so that the next item
  // appears at once.
  private preload(item: QueueItem): void {
    if (!this.images_ || !item.media_type.startsWith('image/') || this.images.has(item.item_id)) return;
    const img = new Image();
    img.decoding = 'async';
    img.src = contentUrl(this.project, item.item_id);
    img.decode().catch(() => {
      // A broken image shows as such on screen, with its alt text.
    });
    this.images.set(item.item_id, img);
  }

  private changed(): void {
    this.state.set({
      ...this.state.get(),
      buffer: [...this.buffer],
      loading: this.loading,
      exhausted: this.exhausted,
    });
  }
}
