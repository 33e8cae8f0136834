// Label hotkeys, shared by the labeling and review pages.

import type { Label } from '../api/types';

// The key shown on a label's button: its own hotkey, else its position 1-9.
export function keyOf(label: Label, index: number): string {
  return label.hotkey || (index < 9 ? String(index + 1) : '');
}

// The label a key stands for: a label's own hotkey first, then 1-9 by
// position, where no label claims that digit as its own key.
export function labelForKey(labels: Label[], key: string): Label | null {
  const k = key.toLowerCase();
  const own = labels.find((l) => l.hotkey && l.hotkey.toLowerCase() === k);
  if (own) return own;
  if (/^[1-9]$/.test(key)) return labels[Number(key) - 1] ?? null;
  return null;
}

// True when the key goes to a text field, where it types rather than labels.
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return (
    target instanceof HTMLInputElement ||
    target instanceof HTMLTextAreaElement ||
    target instanceof HTMLSelectElement ||
    target.isContentEditable
  );
}
