// The signed-in user and their CSRF token. `undefined` while the first
// session check runs, `null` when signed out.

import { onUnauthorized, setCsrfToken } from '../api/client';
import { auth } from '../api/endpoints';
import type { Role, Session, User } from '../api/types';
import { ROLES } from '../api/types';
import { announce } from './announce';
import { location, navigate } from './router';
import { Store, useStore } from './store';

export const session = new Store<Session | null | undefined>(undefined);

export function useSession(): Session | null | undefined {
  return useStore(session);
}

export function setSession(s: Session | null): void {
  setCsrfToken(s?.csrf_token ?? '');
  session.set(s);
}

// True when `user`'s role includes `role` (admin ⊃ reviewer ⊃ annotator ⊃ viewer).
export function hasRole(user: User | null | undefined, role: Role): boolean {
  if (!user) return false;
  return ROLES.indexOf(user.role) >= ROLES.indexOf(role);
}

export function loginUrl(next: string): string {
  return next && next !== '/' && !next.startsWith('/login') ? `/login?next=${encodeURIComponent(next)}` : '/login';
}

export async function checkSession(): Promise<void> {
  try {
    setSession(await auth.me());
  } catch {
    setSession(null);
  }
}

onUnauthorized((code) => {
  if (session.get() === null && location.get().path === '/login') return;
  setSession(null);
  announce(code === 'session_expired' ? 'Your session expired: please sign in again.' : 'Please sign in.', 'assertive');
  const here = location.get();
  if (here.path !== '/login') navigate(loginUrl(here.url), { replace: true });
});
