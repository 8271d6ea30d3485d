// Bearer-token handling. odh-server prints a URL with ?token=... (as Jupyter
// does); the dashboard moves the token into sessionStorage and out of the
// address bar so it does not end up in history, bookmarks or screenshots.
//
// A link with a token must not silently change who is signed in: someone
// could send a link that signs the reader in as themselves, so that what the
// reader creates next lands in their account. When this tab already has a
// session and the link carries a different token, the token is held in
// memory (never stored) until the user chooses (SwitchUserPage).

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

/** What a `token` query parameter asks for. */
export type LinkToken =
  /** No token in the URL (or an empty one). */
  | { kind: 'none' }
  /** No session yet, or the same token: it is stored. */
  | { kind: 'adopted' }
  /** This tab has another session: ask before switching to token. */
  | { kind: 'pending'; token: string };

/**
 * takeTokenFromUrl removes a `token` query parameter from the URL (with
 * history.replaceState) and stores it when this tab has no session yet. When
 * a different session exists, it returns the token as pending instead: the
 * caller asks before switching.
 */
export function takeTokenFromUrl(loc: Location = window.location, hist: History = window.history): LinkToken {
  const url = new URL(loc.href);
  const raw = url.searchParams.get('token');
  if (raw === null) return { kind: 'none' };
  url.searchParams.delete('token');
  hist.replaceState(hist.state, '', url.pathname + url.search + url.hash);
  const token = raw.trim();
  if (!token) return { kind: 'none' };
  const current = getToken();
  if (current && current !== token) return { kind: 'pending', token };
  setToken(token);
  return { kind: 'adopted' };
}
