import '@testing-library/jest-dom/vitest';
import { cleanup, configure } from '@testing-library/react';
import { afterEach } from 'vitest';

afterEach(() => cleanup());

// CI machines have 2 cores; PatternFly renders are not instant there.
configure({ asyncUtilTimeout: 5000 });

// happy-dom has no canvas; the PatternFly log viewer measures text with one.
HTMLCanvasElement.prototype.getContext = function getContext() {
  return {
    font: '',
    measureText: (t: string) => ({ width: t.length * 7 }),
  } as unknown as CanvasRenderingContext2D;
} as unknown as typeof HTMLCanvasElement.prototype.getContext;
