// Grid mode: a page of thumbnails, selected with the mouse (shift for a
// range, ctrl/cmd to add) or the keyboard; the page's key handling lives in
// the labeling page.

import type { Label, QueueItem } from '../../api/types';
import { contentUrl } from '../../api/client';
import { shortId } from '../../lib/format';

export const GRID_PAGE = 24;

export interface GridSelection {
  selected: ReadonlySet<string>;
  focus: number; // index of the focused cell
  anchor: number; // where a shift-click range starts
}

// The selection after a click on cell `index`.
export function clickSelection(sel: GridSelection, page: readonly QueueItem[], index: number, e: MouseEvent): GridSelection {
  const id = page[index]!.item_id;
  if (e.shiftKey) {
    const [a, b] = sel.anchor <= index ? [sel.anchor, index] : [index, sel.anchor];
    const next = new Set(e.ctrlKey || e.metaKey ? sel.selected : []);
    for (let i = a; i <= b; i++) if (page[i]) next.add(page[i]!.item_id);
    return { selected: next, focus: index, anchor: sel.anchor };
  }
  if (e.ctrlKey || e.metaKey) {
    const next = new Set(sel.selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    return { selected: next, focus: index, anchor: index };
  }
  return { selected: new Set([id]), focus: index, anchor: index };
}

// Columns as laid out now: cells that share the first cell's row.
export function gridColumns(container: HTMLElement | null): number {
  const cells = container ? Array.from(container.querySelectorAll<HTMLElement>('[data-testid="grid-cell"]')) : [];
  if (!cells.length) return 1;
  const top = cells[0]!.offsetTop;
  let n = 0;
  for (const c of cells) {
    if (c.offsetTop !== top) break;
    n++;
  }
  return Math.max(1, n);
}

export function Grid(props: {
  project: string;
  page: readonly QueueItem[];
  labels: Label[];
  given: ReadonlyMap<string, string>; // labels given on this page, by item id
  selection: GridSelection;
  onSelection: (s: GridSelection) => void;
  containerRef: { current: HTMLDivElement | null };
}) {
  const colors = new Map(props.labels.map((l) => [l.name, l.color]));
  const { selected, focus } = props.selection;
  return (
    <div
      class="grid"
      ref={props.containerRef}
      role="listbox"
      aria-multiselectable="true"
      aria-label="Items on this page: arrow keys move, space selects, a label key labels the selection"
      data-testid="label-grid"
    >
      {props.page.map((item, i) => {
        const label = props.given.get(item.item_id);
        const isSelected = selected.has(item.item_id);
        return (
          <div
            key={item.item_id}
            role="option"
            class={'grid-cell' + (isSelected ? ' selected' : '') + (label ? ' labeled' : '') + (i === focus ? ' focused' : '')}
            data-testid="grid-cell"
            data-item-id={item.item_id}
            data-label={label ?? ''}
            aria-selected={isSelected}
            aria-label={`item ${shortId(item.item_id)}${label ? ', labeled ' + label : ''}`}
            tabIndex={i === focus ? 0 : -1}
            onMouseDown={(e) => e.shiftKey && e.preventDefault()}
            onClick={(e) => props.onSelection(clickSelection(props.selection, props.page, i, e))}
          >
            <img
              src={contentUrl(props.project, item.item_id)}
              alt={`item ${shortId(item.item_id)}`}
              decoding="async"
              draggable={false}
            />
            {item.suggestion && !label && (
              <span class="cell-suggestion">
                {item.suggestion.label} {Math.round(item.suggestion.confidence * 100)}%
              </span>
            )}
            {label && (
              <span class="cell-label" style={{ '--label-color': colors.get(label) ?? '#555555' }}>
                ✓ {label}
              </span>
            )}
          </div>
        );
      })}
    </div>
  );
}
