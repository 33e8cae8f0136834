// The label list and guidelines editors of the new-project form and the
// project settings.

import type { LabelSpec } from '../api/types';
import { Markdown } from '../lib/markdown';

// Keys the labeling page uses for its own commands; a label cannot take them.
export const RESERVED_KEYS = new Set(['s', 'f', 'g', 'n', '?', ' ', 'enter', 'backspace', 'escape']);

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

export interface LabelRow {
  key: number;
  name: string;
  color: string;
  hotkey: string;
}

let rowKey = 0;

export function toRows(labels: { name: string; color?: string; hotkey?: string }[]): LabelRow[] {
  return labels.map((l, i) => ({
    key: ++rowKey,
    name: l.name,
    color: l.color || PALETTE[i % PALETTE.length]!,
    hotkey: l.hotkey ?? '',
  }));
}

// The rows as the API wants them, or a message naming what is wrong.
export function rowsToSpecs(rows: LabelRow[]): LabelSpec[] | string {
  const names = new Set<string>();
  const keys = new Map<string, string>();
  const out: LabelSpec[] = [];
  for (const r of rows) {
    const name = r.name.trim();
    if (!name) return 'Every label needs a name.';
    if (names.has(name)) return `The label '${name}' is listed twice.`;
    names.add(name);
    const spec: LabelSpec = { name, color: r.color };
    const hk = r.hotkey.trim();
    if (hk) {
      if ([...hk].length !== 1) return `The hotkey of '${name}' must be one character.`;
      if (RESERVED_KEYS.has(hk.toLowerCase()))
        return `The hotkey '${hk}' of '${name}' is taken by a labeling command (S, F, G, N, ?).`;
      const other = keys.get(hk.toLowerCase());
      if (other) return `'${name}' and '${other}' both use the hotkey '${hk}'.`;
      keys.set(hk.toLowerCase(), name);
      spec.hotkey = hk;
    }
    out.push(spec);
  }
  if (!out.length) return 'A project needs at least one label.';
  return out;
}

export function LabelsEditor({ rows, onChange }: { rows: LabelRow[]; onChange: (rows: LabelRow[]) => void }) {
  const update = (key: number, change: Partial<LabelRow>) =>
    onChange(rows.map((r) => (r.key === key ? { ...r, ...change } : r)));
  const add = () =>
    onChange([...rows, { key: ++rowKey, name: '', color: PALETTE[rows.length % PALETTE.length]!, hotkey: '' }]);
  return (
    <fieldset class="labels-editor">
      <legend>Labels</legend>
      <p class="hint">
        Each label has a color and a one-key hotkey. Left empty, hotkeys become 1–9, then 0.
      </p>
      <ol class="label-rows">
        {rows.map((r, i) => (
          <li key={r.key} class="label-row">
            <label>
              <span class="sr-only">Label {i + 1} name</span>
              <input
                type="text"
                value={r.name}
                placeholder="label name"
                maxLength={64}
                required
                onInput={(e) => update(r.key, { name: e.currentTarget.value })}
              />
            </label>
            <label class="inline">
              <span class="sr-only">Label {i + 1} color</span>
              <input type="color" value={r.color} onInput={(e) => update(r.key, { color: e.currentTarget.value })} />
            </label>
            <label class="inline">
              <span class="hotkey-label">Hotkey</span>
              <input
                type="text"
                class="hotkey-input"
                value={r.hotkey}
                maxLength={1}
                aria-label={`Label ${i + 1} hotkey`}
                onInput={(e) => update(r.key, { hotkey: e.currentTarget.value })}
              />
            </label>
            <button
              type="button"
              class="secondary small"
              aria-label={`Remove label ${r.name || i + 1}`}
              onClick={() => onChange(rows.filter((x) => x.key !== r.key))}
            >
              Remove
            </button>
          </li>
        ))}
      </ol>
      <button type="button" class="secondary" onClick={add}>
        Add label
      </button>
    </fieldset>
  );
}

export function GuidelinesEditor({ value, onChange, id }: { value: string; onChange: (v: string) => void; id: string }) {
  return (
    <div class="guidelines-editor">
      <div class="guidelines-source">
        <label for={id}>Guidelines (Markdown)</label>
        <textarea id={id} rows={12} value={value} onInput={(e) => onChange(e.currentTarget.value)} />
      </div>
      <section class="guidelines-preview" aria-label="Guidelines preview">
        <h3 class="preview-title">Preview</h3>
        <Markdown source={value} />
      </section>
    </div>
  );
}
