// A history router: the location as a store, navigate(), <Link>, and path
// patterns with :params.

import type { ComponentChildren, JSX } from 'preact';
import { Store, useStore } from './store';

export interface Location {
  path: string;
  query: URLSearchParams;
  // The path and query, as it would go back into navigate().
  url: string;
}

function current(): Location {
  return { path: window.location.pathname, query: new URLSearchParams(window.location.search), url: window.location.pathname + window.location.search };
}

export const location = new Store<Location>(current());

window.addEventListener('popstate', () => location.set(current()));

export function navigate(url: string, options: { replace?: boolean } = {}): void {
  if (url === window.location.pathname + window.location.search) return;
  if (options.replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  location.set(current());
}

export function useLocation(): Location {
  return useStore(location);
}

// Matches "/projects/:name/label" against a path; returns the decoded
// params, or null.
export function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/').filter(Boolean);
  const got = path.split('/').filter(Boolean);
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (w.startsWith(':')) {
      try {
        params[w.slice(1)] = decodeURIComponent(g);
      } catch {
        return null;
      }
    } else if (w !== g) {
      return null;
    }
  }
  return params;
}

type LinkProps = JSX.HTMLAttributes<HTMLAnchorElement> & { href: string; children?: ComponentChildren };

// An <a> that navigates without reloading on a plain left click.
export function Link(props: LinkProps) {
  const { href, onClick, ...rest } = props;
  const handle = (e: JSX.TargetedMouseEvent<HTMLAnchorElement>) => {
    if (onClick) (onClick as (e: JSX.TargetedMouseEvent<HTMLAnchorElement>) => void)(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return <a href={href} onClick={handle} {...rest} />;
}
