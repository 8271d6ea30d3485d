import { describe, expect, it } from 'vitest';
import { diffLines } from './diff';

describe('diffLines', () => {
  it('pairs changed lines side by side and keeps common lines aligned', () => {
    const rows = diffLines('a\nb\nc\nd\n', 'a\nB\nc\nd\ne\n');
    expect(rows.map((r) => [r.kind, r.left, r.right])).toEqual([
      ['same', 'a', 'a'],
      ['changed', 'b', 'B'],
      ['same', 'c', 'c'],
      ['same', 'd', 'd'],
      ['changed', undefined, 'e'],
    ]);
  });
  it('reports identical texts as all same', () => {
    expect(diffLines('x\ny', 'x\ny').every((r) => r.kind === 'same')).toBe(true);
  });
});
