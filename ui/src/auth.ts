// Bearer-token handling. odh-server prints a URL with ?token=... (as Jupyter
// does); the dashboard moves the token into sessionStorage and out of the
// address bar so it does not end up in history, bookmarks or screenshots.

const KEY = 'odh-training.token';

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string): void {
  sessionStorage.setItem(KEY, token.trim());
}

export function clearToken(): void {
  sessionStorage.removeItem(KEY);
}

/**
 * adoptTokenFromUrl stores a `token` query parameter, if present, and removes
 * it from the URL with history.replaceState. It returns whether one was found.
 */
export function adoptTokenFromUrl(loc: Location = window.location, hist: History = window.history): boolean {
  const url = new URL(loc.href);
  const token = url.searchParams.get('token');
  if (token === null) return false;
  url.searchParams.delete('token');
  if (token.trim()) setToken(token);
  hist.replaceState(hist.state, '', url.pathname + url.search + url.hash);
  return token.trim() !== '';
}
