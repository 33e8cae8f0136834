// Small pieces shared by the pages.

import type { ComponentChildren, Ref } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { contentUrl } from '../api/client';
import type { Label } from '../api/types';
import { keyOf } from '../lib/hotkeys';
import { Link } from '../lib/router';
import { percent, shortId } from '../lib/format';

export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · fsml` : 'fsml';
  }, [title]);
}

// A ref whose element gets focus when it appears (the autofocus attribute
// only works for the first page load).
export function useFocusOnMount<T extends HTMLElement>() {
  const ref = useRef<T>(null);
  useEffect(() => ref.current?.focus(), []);
  return ref;
}

// The page's heading; focus moves to it after a navigation (see App).
export function PageTitle({ children }: { children: ComponentChildren }) {
  return (
    <h1 tabIndex={-1} class="page-title">
      {children}
    </h1>
  );
}

// An error from the server, shown as it came (role=alert reads it out).
export function ErrorBox({ error, onDismiss }: { error: string | null | undefined; onDismiss?: () => void }) {
  if (!error) return null;
  return (
    <div class="error-box" role="alert">
      <span>{error}</span>
      {onDismiss && (
        <button type="button" class="link-button" onClick={onDismiss}>
          Dismiss
        </button>
      )}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p class="muted" role="status">
      Loading {what}…
    </p>
  );
}

// A horizontal bar with its numbers written out (never color alone).
export function ProgressBar(props: { value: number; max: number; label: string; color?: string; detail?: string }) {
  const pct = percent(props.value, props.max);
  return (
    <div class="progress">
      <div class="progress-text">
        <span>{props.label}</span>
        <span class="num">
          {props.detail ?? `${props.value.toLocaleString()} / ${props.max.toLocaleString()} (${pct.toFixed(0)}%)`}
        </span>
      </div>
      <div
        class="progress-track"
        role="progressbar"
        aria-label={props.label}
        aria-valuemin={0}
        aria-valuemax={props.max}
        aria-valuenow={props.value}
      >
        <div class="progress-fill" style={{ width: `${pct}%`, background: props.color ?? undefined }} />
      </div>
    </div>
  );
}

export function Swatch({ color }: { color: string }) {
  return <span class="swatch" style={{ background: color }} aria-hidden="true" />;
}

// An item's content: its image, or its text at a readable width.
export function ItemContent(props: {
  project: string;
  itemId: string;
  mediaType: string;
  text?: string | undefined;
  size?: 'large' | 'medium' | 'thumb';
}) {
  const size = props.size ?? 'large';
  if (props.mediaType.startsWith('image/')) {
    return (
      <img
        key={props.itemId}
        class={`item-image item-image-${size}`}
        src={contentUrl(props.project, props.itemId)}
        alt={`item ${shortId(props.itemId)}`}
        decoding="async"
        draggable={false}
      />
    );
  }
  if (props.text !== undefined) {
    return <div class={`item-text item-text-${size}`}>{props.text}</div>;
  }
  return (
    <div class={`item-text item-text-${size}`}>
      <a href={contentUrl(props.project, props.itemId)} target="_blank" rel="noopener">
        Open item {shortId(props.itemId)}
      </a>
    </div>
  );
}

// An image item's thumbnail, or a text item's short id (samples carry no text).
export function ItemThumb({ project, itemId, image }: { project: string; itemId: string; image: boolean }) {
  if (image) {
    return (
      <img
        class="thumb"
        src={contentUrl(project, itemId)}
        alt={`item ${shortId(itemId)}`}
        loading="lazy"
        decoding="async"
      />
    );
  }
  return (
    <a class="thumb thumb-text" href={contentUrl(project, itemId)} target="_blank" rel="noopener">
      {shortId(itemId)}
    </a>
  );
}

export function Tabs<T extends string>(props: {
  label: string;
  tabs: { id: T; title: string }[];
  current: T;
  onSelect: (id: T) => void;
}) {
  const onKey = (e: KeyboardEvent) => {
    const i = props.tabs.findIndex((t) => t.id === props.current);
    let j = i;
    if (e.key === 'ArrowRight') j = (i + 1) % props.tabs.length;
    else if (e.key === 'ArrowLeft') j = (i - 1 + props.tabs.length) % props.tabs.length;
    else if (e.key === 'Home') j = 0;
    else if (e.key === 'End') j = props.tabs.length - 1;
    else return;
    e.preventDefault();
    const next = props.tabs[j]!;
    props.onSelect(next.id);
    document.getElementById(`tab-${next.id}`)?.focus();
  };
  return (
    <div class="tabs" role="tablist" aria-label={props.label} onKeyDown={onKey}>
      {props.tabs.map((t) => (
        <button
          type="button"
          role="tab"
          id={`tab-${t.id}`}
          aria-controls={`panel-${t.id}`}
          aria-selected={t.id === props.current}
          tabIndex={t.id === props.current ? 0 : -1}
          class="tab"
          onClick={() => props.onSelect(t.id)}
        >
          {t.title}
        </button>
      ))}
    </div>
  );
}

// "Projects / name" above a project's pages; `name` links to the project
// unless this is the project's own page.
export function ProjectCrumbs({ name, here }: { name: string; here?: boolean }) {
  return (
    <nav class="breadcrumbs" aria-label="Breadcrumbs">
      <Link href="/">Projects</Link> <span aria-hidden="true">/</span>{' '}
      {here ? <span>{name}</span> : <Link href={`/projects/${encodeURIComponent(name)}`}>{name}</Link>}
    </nav>
  );
}

// A label's button in its color, with its hotkey shown and announced
// (`index` is its position: the default hotkeys are 1-9).
export function LabelButton(props: {
  label: Label;
  index: number;
  testId: string;
  disabled?: boolean;
  onClick: () => void;
  children?: ComponentChildren;
}) {
  const { label: l, index: i } = props;
  const key = keyOf(l, i);
  return (
    <button
      type="button"
      class="label-button"
      style={{ '--label-color': l.color }}
      data-testid={props.testId}
      disabled={props.disabled}
      onClick={props.onClick}
      aria-keyshortcuts={key || undefined}
    >
      {key && <kbd>[{key}]</kbd>} {l.name}
      {props.children}
    </button>
  );
}

// A box that takes dropped files, with a labelled "choose" button for the
// keyboard; `onFiles` gets what was dropped or chosen.
export function DropZone(props: {
  testId: string;
  inputId: string;
  prompt: string;
  choose: string;
  accept: string;
  multiple?: boolean;
  inputTestId?: string;
  inputRef?: Ref<HTMLInputElement>;
  onFiles: (files: FileList | null) => void;
}) {
  const [dragging, setDragging] = useState(false);
  return (
    <div
      class={'dropzone' + (dragging ? ' dragging' : '')}
      data-testid={props.testId}
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => {
        e.preventDefault();
        setDragging(false);
        props.onFiles(e.dataTransfer?.files ?? null);
      }}
    >
      <p>{props.prompt}</p>
      <label class="button secondary" for={props.inputId}>
        {props.choose}
      </label>
      <input id={props.inputId} ref={props.inputRef} class="visually-hidden-input" type="file" multiple={props.multiple}
        accept={props.accept} data-testid={props.inputTestId} onChange={(e) => props.onFiles(e.currentTarget.files)} />
    </div>
  );
}
