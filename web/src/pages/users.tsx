import { useEffect, useRef, useState } from 'preact/hooks';
import { errorMessage } from '../api/client';
import { users as usersApi } from '../api/endpoints';
import type { Role, UserRecord } from '../api/types';
import { ROLES } from '../api/types';
import { ErrorBox, Loading, PageTitle, useTitle } from '../components/common';
import { announce } from '../lib/announce';
import { formatDate } from '../lib/format';
import { useSession } from '../lib/session';

const USER_NAME = /^[A-Za-z0-9._-]{1,64}$/;

function passwordProblem(p: string): string | null {
  const n = new TextEncoder().encode(p).length;
  if (n < 8) return 'Passwords are at least 8 bytes long.';
  if (n > 1024) return 'Passwords are at most 1,024 bytes long.';
  return null;
}

function AddUserForm({ onAdded }: { onAdded: (u: UserRecord) => void }) {
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('annotator');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!USER_NAME.test(name)) return setError("User names are 1-64 letters, digits, '.', '_' or '-'.");
    const bad = passwordProblem(password);
    if (bad) return setError(bad);
    setBusy(true);
    setError(null);
    try {
      const u = await usersApi.create(name, role, password);
      setName('');
      setPassword('');
      announce(`Added user ${u.name}`);
      onAdded(u);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card form" onSubmit={submit} data-testid="add-user-form">
      <h2>Add a user</h2>
      <div class="form-grid">
        <div class="field">
          <label for="nu-name">Name</label>
          <input id="nu-name" value={name} maxLength={64} autoComplete="off" required
            onInput={(e) => setName(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="nu-role">Role</label>
          <select id="nu-role" value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>{r}</option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="nu-password">Password (8 or more characters)</label>
          <input id="nu-password" type="password" autoComplete="new-password" value={password} required
            onInput={(e) => setPassword(e.currentTarget.value)} />
        </div>
      </div>
      <ErrorBox error={error} />
      <button type="submit" class="primary" disabled={busy}>
        Add user
      </button>
    </form>
  );
}

function UserRow({ user, self, onChanged, onRemoved }: {
  user: UserRecord;
  self: boolean;
  onChanged: (u: UserRecord) => void;
  onRemoved: (name: string) => void;
}) {
  const [mode, setMode] = useState<'idle' | 'password' | 'remove'>('idle');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const passwordInput = useRef<HTMLInputElement>(null);
  const confirmButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (mode === 'password') passwordInput.current?.focus();
    if (mode === 'remove') confirmButton.current?.focus();
  }, [mode]);

  const run = async (what: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await what();
    } catch (err) {
      setError(errorMessage(err));
      announce(errorMessage(err), 'assertive');
    } finally {
      setBusy(false);
    }
  };

  const changeRole = (role: Role) =>
    run(async () => {
      const u = await usersApi.update(user.name, { role });
      announce(`${u.name} is now ${u.role}`);
      onChanged(u);
    });

  const resetPassword = (e: Event) => {
    e.preventDefault();
    const bad = passwordProblem(password);
    if (bad) return setError(bad);
    void run(async () => {
      await usersApi.update(user.name, { password });
      setPassword('');
      setMode('idle');
      announce(`Password of ${user.name} reset`);
    });
  };

  const remove = () =>
    run(async () => {
      await usersApi.remove(user.name);
      announce(`Removed ${user.name}`);
      onRemoved(user.name);
    });

  return (
    <tr data-testid="user-row" data-user={user.name}>
      <th scope="row">
        {user.name}
        {self && <span class="tag">you</span>}
      </th>
      <td>
        <label class="sr-only" for={`role-${user.name}`}>Role of {user.name}</label>
        <select id={`role-${user.name}`} value={user.role} disabled={busy}
          onChange={(e) => void changeRole(e.currentTarget.value as Role)}>
          {ROLES.map((r) => (
            <option key={r} value={r}>{r}</option>
          ))}
        </select>
      </td>
      <td>{formatDate(user.created_at)}</td>
      <td>{user.created_by}</td>
      <td>
        <div class="row-actions">
          {mode === 'idle' && (
            <>
              <button type="button" class="secondary small" onClick={() => setMode('password')}>
                Reset password
              </button>
              <button type="button" class="danger small" onClick={() => setMode('remove')} disabled={self}>
                Remove
              </button>
            </>
          )}
          {mode === 'password' && (
            <form class="inline-form" onSubmit={resetPassword}>
              <label class="sr-only" for={`pw-${user.name}`}>New password for {user.name}</label>
              <input id={`pw-${user.name}`} type="password" autoComplete="new-password" value={password} ref={passwordInput}
                placeholder="new password" onInput={(e) => setPassword(e.currentTarget.value)} />
              <button type="submit" class="primary small" disabled={busy}>Set</button>
              <button type="button" class="secondary small" onClick={() => setMode('idle')}>Cancel</button>
            </form>
          )}
          {mode === 'remove' && (
            <span class="confirm" role="group" aria-label={`Confirm removing ${user.name}`}>
              <span>Remove {user.name}? Their labels stay.</span>
              <button type="button" class="danger small" onClick={() => void remove()} disabled={busy} ref={confirmButton}>
                Yes, remove
              </button>
              <button type="button" class="secondary small" onClick={() => setMode('idle')}>Cancel</button>
            </span>
          )}
          <ErrorBox error={error} />
        </div>
      </td>
    </tr>
  );
}

export function UsersPage() {
  useTitle('Users');
  const session = useSession();
  const [list, setList] = useState<UserRecord[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    usersApi
      .list()
      .then((r) => setList(r.users))
      .catch((e) => setError(errorMessage(e)));
  }, []);

  return (
    <section>
      <PageTitle>Users</PageTitle>
      <ErrorBox error={error} />
      <AddUserForm onAdded={(u) => setList((l) => [...(l ?? []).filter((x) => x.name !== u.name), u])} />
      {!list && !error && <Loading what="users" />}
      {list && (
        <section class="card">
          <h2>{list.length === 1 ? '1 user' : `${list.length} users`}</h2>
          <div class="table-scroll">
            <table class="table" data-testid="users-table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Role</th>
                  <th scope="col">Created</th>
                  <th scope="col">By</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {list.map((u) => (
                  <UserRow
                    key={u.name}
                    user={u}
                    self={u.name === session?.user.name}
                    onChanged={(nu) => setList((l) => (l ?? []).map((x) => (x.name === nu.name ? { ...x, ...nu } : x)))}
                    onRemoved={(n) => setList((l) => (l ?? []).filter((x) => x.name !== n))}
                  />
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}
    </section>
  );
}
