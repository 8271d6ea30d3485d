import { describe, expect, it } from 'vitest';
import { adoptTokenFromUrl, getToken } from './auth';

describe('adoptTokenFromUrl', () => {
  it('moves ?token= into sessionStorage and out of the URL', () => {
    window.history.replaceState(null, '', '/jobs/default/x?token=abc123&tab=logs#top');
    expect(adoptTokenFromUrl()).toBe(true);
    expect(getToken()).toBe('abc123');
    expect(window.location.pathname + window.location.search + window.location.hash).toBe('/jobs/default/x?tab=logs#top');
  });
  it('leaves a URL without a token alone', () => {
    window.history.replaceState(null, '', '/?a=1');
    expect(adoptTokenFromUrl()).toBe(false);
    expect(window.location.search).toBe('?a=1');
  });
});
