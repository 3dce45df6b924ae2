import { useEffect, useState } from 'react';
import { NavLink, Outlet, useLocation, useNavigate } from 'react-router';
import { can } from '../access.ts';
import { currentSession, logout } from '../api/client.ts';

export function Layout() {
  const session = currentSession();
  const navigate = useNavigate();
  const location = useLocation();
  // On a narrow screen the navigation is a menu, closed again once a page is chosen.
  const [menuOpen, setMenuOpen] = useState(false);
  // biome-ignore lint/correctness/useExhaustiveDependencies: closes on every change of page.
  useEffect(() => setMenuOpen(false), [location.pathname]);
  if (!session) return null;
  const role = session.user.role;
  const links: [string, string, boolean][] = [
    ['/', 'Dashboard', true],
    ['/pipelines', 'Pipelines', true],
    ['/jobs', 'Jobs', true],
    ['/schedules', 'Schedules', true],
    ['/alerts', 'Alerts', true],
    ['/credentials', 'Credentials', can(role, 'credentials:read')],
    ['/connectors', 'Connectors', true],
    ['/dlq', 'Dead letters', true],
    ['/users', 'Users', can(role, 'users:read')],
    ['/audit', 'Audit', can(role, 'audit:read')],
  ];
  return (
    <div className="shell">
      <header>
        <NavLink to="/" className="brand">
          Sluice
        </NavLink>
        <button
          type="button"
          className="menu-toggle"
          aria-expanded={menuOpen}
          aria-controls="main-nav"
          onClick={() => setMenuOpen((o) => !o)}
        >
          Menu
        </button>
        <nav aria-label="main" id="main-nav" className={menuOpen ? 'open' : undefined}>
          {links
            .filter(([, , shown]) => shown)
            .map(([to, label]) => (
              <NavLink key={to} to={to} end={to === '/'}>
                {label}
              </NavLink>
            ))}
        </nav>
        <div className={`who${menuOpen ? ' open' : ''}`}>
          <span>
            {session.user.username} <small>({role})</small>
          </span>
          <button
            type="button"
            className="link"
            onClick={async () => {
              await logout();
              void navigate('/login');
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <main>
        <Outlet />
      </main>
    </div>
  );
}
