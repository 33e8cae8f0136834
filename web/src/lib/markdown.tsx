// Markdown (project guidelines) rendered to sanitized HTML: marked for the
// syntax, DOMPurify so that no script, handler or javascript: URL survives.

import DOMPurify from 'dompurify';
import { Marked } from 'marked';
import { useMemo } from 'preact/hooks';

const marked = new Marked({ gfm: true, breaks: false, async: false });

DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  // Links in guidelines open in a new tab without access to this one.
  if (node.tagName === 'A' && node.hasAttribute('href')) {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
  // Markdown images without alt text (![](...)) still get a name.
  if (node.tagName === 'IMG' && !node.getAttribute('alt')) node.setAttribute('alt', 'image in the guidelines');
});

export function renderMarkdown(source: string): string {
  const html = marked.parse(source) as string;
  return DOMPurify.sanitize(html, {
    USE_PROFILES: { html: true },
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'object', 'embed'],
    FORBID_ATTR: ['style'],
  });
}

export function Markdown({ source, class: className }: { source: string; class?: string }) {
  const html = useMemo(() => renderMarkdown(source), [source]);
  if (!source.trim()) return <p class="muted">No guidelines yet.</p>;
  return <div class={'markdown ' + (className ?? '')} dangerouslySetInnerHTML={{ __html: html }} />;
}
