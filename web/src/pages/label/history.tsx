// "My history": the signed-in user's latest labels of the project, those not
// yet saved first, each with an edit action (a new label for the item).

import { useState } from 'preact/hooks';
import type { HistoryEntry, Label } from '../../api/types';
import { ItemThumb, Swatch } from '../../components/common';
import { formatTime, shortId } from '../../lib/format';
import type { Op } from './saver';

export function HistoryPanel(props: {
  project: string;
  images: boolean;
  labels: Label[];
  entries: HistoryEntry[] | null;
  error: string | null;
  pending: readonly Op[];
  onEdit: (itemId: string, label: string) => void;
  onReload: () => void;
}) {
  const [editing, setEditing] = useState<string | null>(null);
  const colors = new Map(props.labels.map((l) => [l.name, l.color]));
  const unsaved = props.pending.filter((o) => o.kind === 'label').reverse();
  const rows: { key: string; item_id: string; label: string; when: string; state: 'unsaved' | 'saved' | 'withdrawn' }[] = [
    ...unsaved.map((o) => ({
      key: 'p' + o.request_id,
      item_id: o.item_id,
      label: o.kind === 'label' ? o.label : '',
      when: new Date(o.at).toISOString(),
      state: 'unsaved' as const,
    })),
    ...(props.entries ?? []).map((e) => ({
      key: 'h' + e.id,
      item_id: e.item_id,
      label: e.label,
      when: e.created_at,
      state: e.withdrawn ? ('withdrawn' as const) : ('saved' as const),
    })),
  ];

  return (
    <section class="side-section history" aria-labelledby="history-title">
      <div class="side-head">
        <h2 id="history-title">My history</h2>
        <button type="button" class="link-button" onClick={props.onReload}>
          Refresh
        </button>
      </div>
      {props.error && (
        <p class="error-box" role="alert">
          {props.error}
        </p>
      )}
      {props.entries === null && !props.error && <p class="muted">Loading…</p>}
      {props.entries !== null && rows.length === 0 && <p class="muted">No labels yet.</p>}
      <ol class="history-list" data-testid="history-list">
        {rows.map((r) => (
          <li key={r.key} class={'history-row ' + r.state} data-item-id={r.item_id}>
            <ItemThumb project={props.project} itemId={r.item_id} image={props.images} />
            <div class="history-info">
              <span class="history-label">
                <Swatch color={colors.get(r.label) ?? '#888888'} />
                {r.state === 'withdrawn' ? <s>{r.label}</s> : r.label}
              </span>
              <span class="history-meta">
                {shortId(r.item_id)} · {formatTime(r.when)}
                {r.state === 'unsaved' && <strong> · unsaved</strong>}
                {r.state === 'withdrawn' && ' · undone'}
              </span>
            </div>
            {r.state !== 'unsaved' && (
              <button
                type="button"
                class="secondary small"
                aria-expanded={editing === r.key}
                aria-label={`Change label of item ${shortId(r.item_id)}`}
                onClick={() => setEditing(editing === r.key ? null : r.key)}
              >
                Edit
              </button>
            )}
            {editing === r.key && (
              <div
                class="history-edit"
                role="group"
                aria-label={`New label for item ${shortId(r.item_id)}`}
                onKeyDown={(e) => {
                  if (e.key === 'Escape') {
                    e.stopPropagation();
                    setEditing(null);
                  }
                }}
              >
                {props.labels.map((l) => (
                  <button
                    key={l.name}
                    type="button"
                    class="label-chip-button"
                    style={{ '--label-color': l.color }}
                    disabled={l.name === r.label && r.state === 'saved'}
                    onClick={() => {
                      props.onEdit(r.item_id, l.name);
                      setEditing(null);
                    }}
                  >
                    <Swatch color={l.color} />
                    {l.name}
                  </button>
                ))}
              </div>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}
