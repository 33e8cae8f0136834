import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, errorMessage } from '../api/client';
import { auth } from '../api/endpoints';
import { useTitle } from '../components/common';
import { LiveRegions } from '../components/shell';
import { announce } from '../lib/announce';
import { navigate, useLocation } from '../lib/router';
import { setSession, useSession } from '../lib/session';

// Only paths of this app: never an absolute URL to somewhere else.
function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : '/';
}

export function LoginPage() {
  useTitle('Sign in');
  const loc = useLocation();
  const session = useSession();
  const next = safeNext(loc.query.get('next'));
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [waitUntil, setWaitUntil] = useState(0);
  const [now, setNow] = useState(Date.now());
  const nameInput = useRef<HTMLInputElement>(null);

  useEffect(() => nameInput.current?.focus(), []);

  useEffect(() => {
    if (session) navigate(next, { replace: true });
  }, [session, next]);

  // Counts down a 429's Retry-After.
  useEffect(() => {
    if (waitUntil <= Date.now()) return;
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, [waitUntil]);
  const waitSeconds = Math.max(0, Math.ceil((waitUntil - now) / 1000));

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy || waitSeconds > 0) return;
    setBusy(true);
    setError(null);
    try {
      const s = await auth.login(name.trim(), password);
      setPassword('');
      setSession(s);
      announce(`Signed in as ${s.user.name}`);
      navigate(next, { replace: true });
    } catch (err) {
      if (err instanceof ApiError && err.status === 429) {
        const after = err.retryAfterSeconds ?? 60;
        setWaitUntil(Date.now() + after * 1000);
        setNow(Date.now());
        setError(`Too many attempts, try again in ${after} s.`);
      } else {
        setError(errorMessage(err));
      }
      announce(errorMessage(err), 'assertive');
    } finally {
      setBusy(false);
    }
  };

  const message = error && waitSeconds > 0 ? `Too many attempts, try again in ${waitSeconds} s.` : error;
  return (
    <div class="login-page">
      <main id="main" class="login-card">
        <p class="brand brand-large" aria-hidden="true">
          fsml
        </p>
        <h1 tabIndex={-1}>Sign in to fsml</h1>
        <form onSubmit={submit} noValidate>
          <div class="field">
            <label for="login-name">Name</label>
            <input
              id="login-name"
              name="username"
              autoComplete="username"
              ref={nameInput}
              autoFocus
              required
              value={name}
              onInput={(e) => setName(e.currentTarget.value)}
            />
          </div>
          <div class="field">
            <label for="login-password">Password</label>
            <input
              id="login-password"
              name="password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
          </div>
          {message && (
            <p class="error-box" role="alert" data-testid="login-error">
              {message}
            </p>
          )}
          <button type="submit" class="primary wide" disabled={busy || waitSeconds > 0 || !name || !password}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
      </main>
      <LiveRegions />
    </div>
  );
}
