import { beforeEach, describe, expect, it } from 'vitest';
import { getToken, setToken, takeTokenFromUrl } from './auth';

describe('takeTokenFromUrl', () => {
  beforeEach(() => sessionStorage.clear());

  it('moves ?token= into sessionStorage and out of the URL when the tab has no session', () => {
    window.history.replaceState(null, '', '/jobs/default/x?token=abc123&tab=logs#top');
    expect(takeTokenFromUrl()).toEqual({ kind: 'adopted' });
    expect(getToken()).toBe('abc123');
    expect(window.location.pathname + window.location.search + window.location.hash).toBe('/jobs/default/x?tab=logs#top');
  });

  it('leaves a URL without a token alone', () => {
    window.history.replaceState(null, '', '/?a=1');
    expect(takeTokenFromUrl()).toEqual({ kind: 'none' });
    expect(window.location.search).toBe('?a=1');
  });

  it('holds a different token back when the tab is signed in, and keeps the session', () => {
    setToken('current');
    window.history.replaceState(null, '', '/?token=other');
    expect(takeTokenFromUrl()).toEqual({ kind: 'pending', token: 'other' });
    expect(getToken()).toBe('current');
    // Out of the address bar all the same.
    expect(window.location.search).toBe('');
  });

  it('takes the same token again without asking, and ignores an empty one', () => {
    setToken('same');
    window.history.replaceState(null, '', '/?token=same');
    expect(takeTokenFromUrl()).toEqual({ kind: 'adopted' });
    window.history.replaceState(null, '', '/?token=%20');
    expect(takeTokenFromUrl()).toEqual({ kind: 'none' });
    expect(getToken()).toBe('same');
  });
});
