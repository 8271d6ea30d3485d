// A tiny history-API router: the dashboard has a handful of pages and the
// server falls back to index.html for unknown paths.
import { createContext, useContext, useEffect, useState, type MouseEvent, type ReactNode } from 'react';

export interface Location {
  path: string;
  query: URLSearchParams;
}

const RouterContext = createContext<{ loc: Location; navigate: (to: string) => void }>({
  loc: { path: '/', query: new URLSearchParams() },
  navigate: () => {},
});

function current(): Location {
  return { path: window.location.pathname, query: new URLSearchParams(window.location.search) };
}

export function navigate(to: string, replace = false): void {
  if (replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

export function Router({ children }: { children: ReactNode }) {
  const [loc, setLoc] = useState<Location>(current);
  useEffect(() => {
    const on = () => setLoc(current());
    window.addEventListener('popstate', on);
    return () => window.removeEventListener('popstate', on);
  }, []);
  return <RouterContext.Provider value={{ loc, navigate }}>{children}</RouterContext.Provider>;
}

export function useLocation(): Location {
  return useContext(RouterContext).loc;
}

export function useNavigate(): (to: string) => void {
  return useContext(RouterContext).navigate;
}

/** match returns the named segments of path when it matches pattern ("/jobs/:ns/:name"). */
export function match(pattern: string, path: string): Record<string, string> | null {
  const ps = pattern.split('/').filter(Boolean);
  const xs = path.split('/').filter(Boolean);
  if (ps.length !== xs.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < ps.length; i++) {
    if (ps[i].startsWith(':')) out[ps[i].slice(1)] = decodeURIComponent(xs[i]);
    else if (ps[i] !== xs[i]) return null;
  }
  return out;
}

/** onLinkClick makes a plain <a href> navigate in-app (keeping ctrl/middle click). */
export function onLinkClick(e: MouseEvent<HTMLAnchorElement>, nav: (to: string) => void = navigate): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const href = e.currentTarget.getAttribute('href');
  if (!href || href.startsWith('http')) return;
  e.preventDefault();
  nav(href);
}

export function Link({ to, children, ...rest }: { to: string; children: ReactNode } & Omit<React.AnchorHTMLAttributes<HTMLAnchorElement>, 'href'>) {
  const nav = useNavigate();
  return (
    <a href={to} onClick={(e) => onLinkClick(e, nav)} {...rest}>
      {children}
    </a>
  );
}

export function jobPath(namespace: string, name: string): string {
  return `/jobs/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
}
