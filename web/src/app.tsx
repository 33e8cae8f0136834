// Routes, the session check and focus after navigation.

import { useEffect, useRef } from 'preact/hooks';
import { PageTitle, useTitle } from './components/common';
import { Shell } from './components/shell';
import { checkSession, hasRole, loginUrl, useSession } from './lib/session';
import { Link, match, navigate, useLocation } from './lib/router';
import { AccountPage } from './pages/account';
import { AgreementPage } from './pages/agreement';
import { DemoPage } from './pages/demo';
import { EvaluationPage } from './pages/eval';
import { EvaluationComparePage } from './pages/eval-compare';
import { EvaluationsPage } from './pages/evals';
import { LabelPage } from './pages/label/label-page';
import { LoginPage } from './pages/login';
import { ProjectPage } from './pages/project';
import { ProjectsPage } from './pages/projects';
import { ReviewPage } from './pages/review';
import { RunPage } from './pages/run';
import { RunsPage } from './pages/runs';
import { RunsComparePage } from './pages/runs-compare';
import { ModelPage } from './pages/model';
import { ModelsPage } from './pages/models';
import { UsersPage } from './pages/users';
import { VersionsPage } from './pages/versions';
import type { Role } from './api/types';
import type { ComponentChildren } from 'preact';

function NotFound() {
  useTitle('Not found');
  return (
    <section>
      <PageTitle>Page not found</PageTitle>
      <p>
        There is no page at this address. <Link href="/">Go to the projects</Link>.
      </p>
    </section>
  );
}

function Forbidden({ role }: { role: Role }) {
  useTitle('Not allowed');
  return (
    <section>
      <PageTitle>Not allowed</PageTitle>
      <p>
        This page needs the {role} role. <Link href="/">Go to the projects</Link>.
      </p>
    </section>
  );
}

interface Route {
  pattern: string;
  role?: Role;
  page: (params: Record<string, string>) => ComponentChildren;
}

const ROUTES: Route[] = [
  { pattern: '/', page: () => <ProjectsPage /> },
  { pattern: '/projects/:name', page: (p) => <ProjectPage key={p.name} name={p.name!} /> },
  { pattern: '/projects/:name/label', role: 'annotator', page: (p) => <LabelPage key={p.name} name={p.name!} /> },
  { pattern: '/projects/:name/review', role: 'reviewer', page: (p) => <ReviewPage key={p.name} name={p.name!} /> },
  { pattern: '/projects/:name/agreement', page: (p) => <AgreementPage key={p.name} name={p.name!} /> },
  { pattern: '/projects/:name/versions', page: (p) => <VersionsPage key={p.name} name={p.name!} /> },
  { pattern: '/demo', page: () => <DemoPage /> },
  { pattern: '/demo/:model', page: (p) => <DemoPage key={p.model} modelRef={p.model!} /> },
  { pattern: '/demo/:name/:version', page: (p) => <DemoPage key={`${p.name}/${p.version}`} modelRef={`${p.name}/${p.version}`} /> },
  { pattern: '/evaluations', page: () => <EvaluationsPage /> },
  { pattern: '/evaluations/compare', page: () => <EvaluationComparePage /> },
  { pattern: '/evaluations/:id', page: (p) => <EvaluationPage key={p.id} id={p.id!} /> },
  { pattern: '/runs', page: () => <RunsPage /> },
  { pattern: '/runs/compare', page: () => <RunsComparePage /> },
  { pattern: '/runs/:id', page: (p) => <RunPage key={p.id} id={p.id!} /> },
  { pattern: '/models', page: () => <ModelsPage /> },
  { pattern: '/models/:name', page: (p) => <ModelPage key={p.name} name={p.name!} /> },
  { pattern: '/users', role: 'admin', page: () => <UsersPage /> },
  { pattern: '/account', page: () => <AccountPage /> },
];

export function App() {
  const session = useSession();
  const loc = useLocation();
  const firstPath = useRef(true);

  useEffect(() => {
    void checkSession();
  }, []);

  // Signed out: every page but the login page sends there, keeping the address.
  useEffect(() => {
    if (session === null && loc.path !== '/login') navigate(loginUrl(loc.url), { replace: true });
  }, [session, loc.path, loc.url]);

  // After a navigation, focus goes to the new page's heading (or the field
  // the page focuses itself), so that keyboard and screen-reader users start there.
  useEffect(() => {
    if (firstPath.current) {
      firstPath.current = false;
      return;
    }
    const t = window.setTimeout(() => {
      const active = document.activeElement;
      if (active && active !== document.body && document.getElementById('main')?.contains(active)) return;
      (document.querySelector('#main h1') as HTMLElement | null)?.focus();
    }, 0);
    return () => window.clearTimeout(t);
  }, [loc.path]);

  if (loc.path === '/login') return <LoginPage />;
  if (session === undefined) {
    return (
      <p class="boot" role="status">
        Loading fsml…
      </p>
    );
  }
  if (session === null) return null;

  let content: ComponentChildren = <NotFound />;
  for (const r of ROUTES) {
    const params = match(r.pattern, loc.path);
    if (!params) continue;
    content = r.role && !hasRole(session.user, r.role) ? <Forbidden role={r.role} /> : r.page(params);
    break;
  }
  return <Shell user={session.user}>{content}</Shell>;
}
