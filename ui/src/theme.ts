// Dark and high-contrast themes: PatternFly 6 classes on <html>, remembered
// in localStorage. The initial choice follows the OS preference.
export interface Theme {
  dark: boolean;
  highContrast: boolean;
}

const KEY = 'odh-training.theme';

export function loadTheme(): Theme {
  try {
    const t = JSON.parse(localStorage.getItem(KEY) ?? 'null') as Theme | null;
    if (t && typeof t.dark === 'boolean') return { dark: t.dark, highContrast: !!t.highContrast };
  } catch {
    /* fall through */
  }
  const mq = (q: string) => typeof window.matchMedia === 'function' && window.matchMedia(q).matches;
  return { dark: mq('(prefers-color-scheme: dark)'), highContrast: mq('(prefers-contrast: more)') };
}

export function applyTheme(t: Theme, root: HTMLElement = document.documentElement): void {
  root.classList.toggle('pf-v6-theme-dark', t.dark);
  root.classList.toggle('pf-v6-theme-high-contrast', t.highContrast);
  try {
    localStorage.setItem(KEY, JSON.stringify(t));
  } catch {
    /* private mode */
  }
}
