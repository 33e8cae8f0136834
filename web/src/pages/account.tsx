import { useState } from 'preact/hooks';
import { errorMessage } from '../api/client';
import { auth } from '../api/endpoints';
import { ErrorBox, PageTitle, useTitle } from '../components/common';
import { announce } from '../lib/announce';
import { useSession } from '../lib/session';

export function AccountPage() {
  useTitle('Account');
  const session = useSession();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setDone(false);
    if (next !== repeat) return setError('The new passwords differ.');
    if (new TextEncoder().encode(next).length < 8) return setError('Passwords are at least 8 bytes long.');
    setBusy(true);
    setError(null);
    try {
      await auth.changePassword(current, next);
      setCurrent('');
      setNext('');
      setRepeat('');
      setDone(true);
      announce('Password changed');
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="narrow">
      <PageTitle>Account</PageTitle>
      {session && (
        <p>
          Signed in as <strong>{session.user.name}</strong> ({session.user.role}).
        </p>
      )}
      <form class="card form" onSubmit={submit}>
        <h2>Change password</h2>
        <div class="field">
          <label for="pw-current">Current password</label>
          <input id="pw-current" type="password" autoComplete="current-password" required value={current}
            onInput={(e) => setCurrent(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="pw-new">New password (8 or more characters)</label>
          <input id="pw-new" type="password" autoComplete="new-password" required minLength={8} maxLength={1024}
            value={next} onInput={(e) => setNext(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="pw-repeat">New password again</label>
          <input id="pw-repeat" type="password" autoComplete="new-password" required value={repeat}
            onInput={(e) => setRepeat(e.currentTarget.value)} />
        </div>
        <ErrorBox error={error} />
        {done && <p class="ok-box" role="status">Password changed.</p>}
        <button type="submit" class="primary" disabled={busy || !current || !next}>
          Change password
        </button>
      </form>
    </section>
  );
}
