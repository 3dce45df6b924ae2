import { lazy, Suspense, useEffect, useState } from 'react';
import { createBrowserRouter, Navigate, RouterProvider } from 'react-router';
import { currentSession, onSession, type Session } from './api/client.ts';
import { Loading } from './components/feedback.tsx';
import { Layout } from './components/layout.tsx';
import { AlertsPage } from './pages/alerts.tsx';
import { AuditPage } from './pages/audit.tsx';
import { ConnectorsPage } from './pages/connectors.tsx';
import { CredentialsPage } from './pages/credentials.tsx';
import { DashboardPage } from './pages/dashboard.tsx';
import { DlqPage } from './pages/dlq.tsx';
import { JobsPage } from './pages/jobs.tsx';
import { LoginPage } from './pages/login.tsx';
import { PipelinesPage } from './pages/pipelines.tsx';
import { SchedulesPage } from './pages/schedules.tsx';
import { UsersPage } from './pages/users.tsx';

// The pages that draw DAGs (React Flow) or edit specs load on demand: the first page stays small.
const PipelinePage = lazy(() => import('./pages/pipeline.tsx'));
const JobPage = lazy(() => import('./pages/job.tsx'));
const EditorPage = lazy(() => import('./pages/editor.tsx'));

const later = (el: React.ReactNode) => <Suspense fallback={<Loading />}>{el}</Suspense>;

const router = createBrowserRouter([
  { path: '/login', element: <LoginPage /> },
  {
    path: '/',
    element: <Layout />,
    children: [
      { index: true, element: <DashboardPage /> },
      { path: 'pipelines', element: <PipelinesPage /> },
      { path: 'pipelines/new', element: later(<EditorPage />) },
      { path: 'pipelines/:id', element: later(<PipelinePage />) },
      { path: 'pipelines/:id/edit', element: later(<EditorPage />) },
      { path: 'jobs', element: <JobsPage /> },
      { path: 'jobs/:id', element: later(<JobPage />) },
      { path: 'schedules', element: <SchedulesPage /> },
      { path: 'alerts', element: <AlertsPage /> },
      { path: 'credentials', element: <CredentialsPage /> },
      { path: 'connectors', element: <ConnectorsPage /> },
      { path: 'dlq', element: <DlqPage /> },
      { path: 'users', element: <UsersPage /> },
      { path: 'audit', element: <AuditPage /> },
      { path: '*', element: <Navigate to="/" replace /> },
    ],
  },
]);

export function App() {
  const [session, setSession] = useState<Session | null>(currentSession());
  useEffect(() => onSession(setSession), []);
  // Signing out anywhere (or a refresh that failed) lands on the login page.
  useEffect(() => {
    if (!session && location.pathname !== '/login')
      void router.navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
  }, [session]);
  return <RouterProvider router={router} />;
}
