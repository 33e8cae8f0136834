// The frame around every signed-in page: the top bar, the main region and
// the live regions that read out saves and errors.

import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { auth } from '../api/endpoints';
import type { User } from '../api/types';
import { errorMessage } from '../api/client';
import { announce, assertiveMessage, politeMessage } from '../lib/announce';
import { Link, navigate, useLocation } from '../lib/router';
import { hasRole, setSession } from '../lib/session';
import { useStore } from '../lib/store';

export function LiveRegions() {
  const polite = useStore(politeMessage);
  const assertive = useStore(assertiveMessage);
  // Emptied after a while so that the same message later is read again.
  const [shown, setShown] = useState({ polite: '', assertive: '' });
  useEffect(() => {
    setShown((s) => ({ ...s, polite: polite.text }));
    const t = window.setTimeout(() => setShown((s) => ({ ...s, polite: '' })), 4000);
    return () => window.clearTimeout(t);
  }, [polite]);
  useEffect(() => {
    setShown((s) => ({ ...s, assertive: assertive.text }));
    const t = window.setTimeout(() => setShown((s) => ({ ...s, assertive: '' })), 8000);
    return () => window.clearTimeout(t);
  }, [assertive]);
  return (
    <>
      <div class="sr-only" aria-live="polite" aria-atomic="true" data-testid="live-polite">
        {shown.polite}
      </div>
      <div class="sr-only" aria-live="assertive" aria-atomic="true" data-testid="live-assertive">
        {shown.assertive}
      </div>
    </>
  );
}

function NavLink({ href, children, current }: { href: string; children: ComponentChildren; current: boolean }) {
  return (
    <Link href={href} class="nav-link" aria-current={current ? 'page' : undefined}>
      {children}
    </Link>
  );
}

export function Shell({ user, children }: { user: User; children: ComponentChildren }) {
  const loc = useLocation();
  const [busy, setBusy] = useState(false);
  const logout = async () => {
    setBusy(true);
    try {
      await auth.logout();
    } catch (e) {
      // The session is dropped here either way; say why the server did not confirm it.
      announce(`Log out: ${errorMessage(e)}`, 'assertive');
    }
    setBusy(false);
    setSession(null);
    navigate('/login');
  };
  const inProjects = loc.path === '/' || loc.path.startsWith('/projects/');
  return (
    <div class="shell">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <Link href="/" class="brand">
          fsml
        </Link>
        <nav aria-label="Main" class="main-nav">
          <NavLink href="/" current={inProjects}>
            Projects
          </NavLink>
          <NavLink href="/demo" current={loc.path === '/demo' || loc.path.startsWith('/demo/')}>
            Demo
          </NavLink>
          <NavLink href="/evaluations" current={loc.path === '/evaluations' || loc.path.startsWith('/evaluations/')}>
            Evaluations
          </NavLink>
          <NavLink href="/runs" current={loc.path === '/runs' || loc.path.startsWith('/runs/')}>
            Runs
          </NavLink>
          <NavLink href="/models" current={loc.path === '/models' || loc.path.startsWith('/models/')}>
            Models
          </NavLink>
          {hasRole(user, 'admin') && (
            <NavLink href="/users" current={loc.path === '/users'}>
              Users
            </NavLink>
          )}
        </nav>
        <div class="whoami">
          <Link href="/account" class="user-name" aria-label={`Account of ${user.name}`}>
            {user.name}
          </Link>
          <span class="role-badge" data-testid="user-role">
            {user.role}
          </span>
          <button type="button" class="secondary small" onClick={logout} disabled={busy}>
            Log out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
      <LiveRegions />
    </div>
  );
}
