import {
  Button,
  Masthead,
  MastheadBrand,
  MastheadContent,
  MastheadLogo,
  MastheadMain,
  MastheadToggle,
  Nav,
  NavItem,
  NavList,
  Page,
  PageSidebar,
  PageSidebarBody,
  PageToggleButton,
  SkipToContent,
  Switch,
  Toolbar,
  ToolbarContent,
  ToolbarGroup,
  ToolbarItem,
  Content,
} from '@patternfly/react-core';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { HttpApi, type Api } from './api/client';
import { ApiContext } from './api/context';
import type { Version } from './api/types';
import { clearToken, getToken } from './auth';
import { LoginPage } from './pages/LoginPage';
import { JobListPage } from './pages/JobListPage';
import { CreateJobPage } from './pages/CreateJobPage';
import { JobDetailPage } from './pages/JobDetailPage';
import { ComparePage } from './pages/ComparePage';
import { TemplatesPage } from './pages/TemplatesPage';
import { GuidePage } from './pages/GuidePage';
import { match, onLinkClick, Router, useLocation, useNavigate } from './router';
import { applyTheme, loadTheme, type Theme } from './theme';

const NAV = [
  { to: '/', label: 'Jobs', active: (p: string) => p === '/' || p.startsWith('/jobs') },
  { to: '/create', label: 'Create job', active: (p: string) => p === '/create' },
  { to: '/templates', label: 'Templates', active: (p: string) => p === '/templates' },
  { to: '/compare', label: 'Compare jobs', active: (p: string) => p === '/compare' },
  { to: '/guide', label: 'Choosing a job type', active: (p: string) => p === '/guide' },
];

function Routes({ theme }: { theme: Theme }) {
  const { path } = useLocation();
  let m: Record<string, string> | null;
  if (path === '/' || path === '/jobs') return <JobListPage />;
  if (path === '/create') return <CreateJobPage />;
  if (path === '/templates') return <TemplatesPage />;
  if (path === '/compare') return <ComparePage />;
  if (path === '/guide') return <GuidePage />;
  if ((m = match('/jobs/:ns/:name', path))) return <JobDetailPage namespace={m.ns} name={m.name} isDark={theme.dark} />;
  return <JobListPage />;
}

function Shell({ onLogout, version }: { onLogout: () => void; version?: Version }) {
  const { path } = useLocation();
  const nav = useNavigate();
  const [theme, setTheme] = useState<Theme>(loadTheme);
  useEffect(() => applyTheme(theme), [theme]);
  // Move focus to the new page's heading on navigation, for keyboard and screen-reader users.
  // Not on the first load, so that the skip link stays the first Tab stop.
  const firstPath = useRef(true);
  useEffect(() => {
    if (firstPath.current) {
      firstPath.current = false;
      return;
    }
    const h = document.querySelector<HTMLElement>('#main-content h1');
    h?.focus({ preventScroll: false });
  }, [path]);

  const masthead = (
    <Masthead>
      <MastheadMain>
        <MastheadToggle>
          <PageToggleButton isHamburgerButton aria-label="Global navigation" />
        </MastheadToggle>
        <MastheadBrand>
          <MastheadLogo href="/" onClick={(e: React.MouseEvent<HTMLAnchorElement>) => onLinkClick(e, nav)}>
            <span className="pf-v6-u-font-size-lg pf-v6-u-font-weight-bold">Training jobs</span>
          </MastheadLogo>
        </MastheadBrand>
      </MastheadMain>
      <MastheadContent>
        <Toolbar isFullHeight isStatic>
          <ToolbarContent>
            <ToolbarGroup align={{ default: 'alignEnd' }}>
              {version?.engine && (
                <ToolbarItem alignSelf="center" visibility={{ default: 'hidden', md: 'visible' }}>
                  <Content component="small">
                    engine: {version.engine}
                    {version.version ? ` · ${version.version}` : ''}
                  </Content>
                </ToolbarItem>
              )}
              <ToolbarItem alignSelf="center">
                <Switch
                  id="theme-dark"
                  label="Dark theme"
                  isChecked={theme.dark}
                  onChange={(_e, dark) => setTheme((t) => ({ ...t, dark }))}
                />
              </ToolbarItem>
              <ToolbarItem alignSelf="center">
                <Switch
                  id="theme-contrast"
                  label="High contrast"
                  isChecked={theme.highContrast}
                  onChange={(_e, highContrast) => setTheme((t) => ({ ...t, highContrast }))}
                />
              </ToolbarItem>
              <ToolbarItem>
                <Button variant="plain" onClick={onLogout}>
                  Log out
                </Button>
              </ToolbarItem>
            </ToolbarGroup>
          </ToolbarContent>
        </Toolbar>
      </MastheadContent>
    </Masthead>
  );
  const sidebar = (
    <PageSidebar>
      <PageSidebarBody>
        <Nav aria-label="Main">
          <NavList>
            {NAV.map((n) => (
              <NavItem
                key={n.to}
                to={n.to}
                isActive={n.active(path)}
                onClick={(e) => onLinkClick(e as unknown as React.MouseEvent<HTMLAnchorElement>, nav)}
              >
                {n.label}
              </NavItem>
            ))}
          </NavList>
        </Nav>
      </PageSidebarBody>
    </PageSidebar>
  );
  return (
    <Page
      masthead={masthead}
      sidebar={sidebar}
      isManagedSidebar
      skipToContent={<SkipToContent href="#main-content">Skip to content</SkipToContent>}
      mainContainerId="main-content"
    >
      <Routes theme={theme} />
    </Page>
  );
}

/** App wires the API client, the login gate and the page shell. */
export function App({ api: injected, onUnauthenticatedRef }: { api?: Api; onUnauthenticatedRef?: (f: () => void) => void }) {
  const [needLogin, setNeedLogin] = useState(false);

  const [version, setVersion] = useState<Version>();
  const onUnauthenticated = useCallback(() => setNeedLogin(true), []);
  onUnauthenticatedRef?.(onUnauthenticated);
  const api = useMemo<Api>(() => injected ?? new HttpApi({ token: getToken, onUnauthenticated }), [injected, onUnauthenticated]);

  useEffect(() => {
    if (needLogin) return;
    api
      .version()
      .then(setVersion)
      .catch(() => {
        /* 401 is handled by onUnauthenticated; other errors show on the pages */
      });
  }, [api, needLogin]);

  if (needLogin) return <LoginPage api={api} onLogin={() => setNeedLogin(false)} />;
  return (
    <ApiContext.Provider value={api}>
      <Router>
        <Shell
          version={version}
          onLogout={() => {
            clearToken();
            setNeedLogin(true);
          }}
        />
      </Router>
    </ApiContext.Provider>
  );
}
