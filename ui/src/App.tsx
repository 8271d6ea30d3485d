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
import { HttpApi, whoIs, type Api, type Identity } from './api/client';
import { ApiContext } from './api/context';
import type { Version } from './api/types';
import { clearToken, getToken, setToken, type LinkToken } from './auth';
import { LoginPage } from './pages/LoginPage';
import { SwitchUserPage } from './pages/SwitchUserPage';
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

function Shell({ onLogout, version, user }: { onLogout: () => void; version?: Version; user?: string }) {
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
              {user && (
                <ToolbarItem alignSelf="center" visibility={{ default: 'hidden', md: 'visible' }}>
                  <Content component="small" data-testid="signed-in-as">
                    Signed in as <strong>{user}</strong>
                  </Content>
                </ToolbarItem>
              )}
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

export interface AppProps {
  api?: Api;
  onUnauthenticatedRef?: (f: () => void) => void;
  /** What the URL's ?token= asked for (main.tsx takes it out of the URL before the first render). */
  linkToken?: LinkToken;
  /** Who a token belongs to; defaults to asking the server. */
  whoIs?: (token: string) => Promise<Identity>;
}

/** App wires the API client, the login gate, the switch-user prompt and the page shell. */
export function App({ api: injected, onUnauthenticatedRef, linkToken, whoIs: whoIsProp }: AppProps) {
  const [needLogin, setNeedLogin] = useState(false);
  const [pending, setPending] = useState(linkToken?.kind === 'pending' ? linkToken.token : undefined);
  // Bumped when the token changes, so that who is signed in is asked again.
  const [session, setSession] = useState(0);

  const [version, setVersion] = useState<Version>();
  const [user, setUser] = useState<string>();
  const onUnauthenticated = useCallback(() => setNeedLogin(true), []);
  onUnauthenticatedRef?.(onUnauthenticated);
  const api = useMemo<Api>(() => injected ?? new HttpApi({ token: getToken, onUnauthenticated }), [injected, onUnauthenticated]);
  const identify = useMemo(() => whoIsProp ?? ((t: string) => whoIs(t)), [whoIsProp]);
  const onSwitch = useCallback(() => {
    if (pending) setToken(pending);
    setPending(undefined);
    setSession((n) => n + 1);
  }, [pending]);
  const onStay = useCallback(() => setPending(undefined), []);

  useEffect(() => {
    if (needLogin) return;
    api
      .version()
      .then(setVersion)
      .catch(() => {
        /* 401 is handled by onUnauthenticated; other errors show on the pages */
      });
  }, [api, needLogin]);

  useEffect(() => {
    if (needLogin || pending || !api.canI) return;
    let live = true;
    api.canI('default', 'get', 'mpijobs').then(
      (r) => live && setUser(r.user || undefined),
      () => live && setUser(undefined),
    );
    return () => {
      live = false;
    };
  }, [api, needLogin, pending, session]);

  const current = getToken();
  if (pending && current) {
    return <SwitchUserPage current={current} next={pending} whoIs={identify} onSwitch={onSwitch} onStay={onStay} />;
  }
  if (needLogin) {
    return (
      <LoginPage
        api={api}
        onLogin={() => {
          setNeedLogin(false);
          setSession((n) => n + 1);
        }}
      />
    );
  }
  return (
    <ApiContext.Provider value={api}>
      <Router>
        <Shell
          version={version}
          user={user}
          onLogout={() => {
            clearToken();
            setUser(undefined);
            setNeedLogin(true);
          }}
        />
      </Router>
    </ApiContext.Provider>
  );
}
