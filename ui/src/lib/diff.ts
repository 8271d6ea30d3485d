// A line diff (longest common subsequence) for the side-by-side comparison.
export type DiffRow =
  | { kind: 'same'; left: string; right: string; leftNo: number; rightNo: number }
  | { kind: 'changed'; left?: string; right?: string; leftNo?: number; rightNo?: number };

/** diffLines aligns two texts line by line; changed runs are paired side by side. */
export function diffLines(a: string, b: string): DiffRow[] {
  const x = a.split('\n');
  const y = b.split('\n');
  if (x[x.length - 1] === '') x.pop();
  if (y[y.length - 1] === '') y.pop();
  const n = x.length;
  const m = y.length;
  // lcs[i][j] = LCS length of x[i:] and y[j:]; specs are a few hundred lines at most.
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const rows: DiffRow[] = [];
  let i = 0;
  let j = 0;
  let dels: number[] = [];
  let adds: number[] = [];
  const flush = () => {
    const k = Math.max(dels.length, adds.length);
    for (let t = 0; t < k; t++) {
      const l = dels[t];
      const r = adds[t];
      rows.push({
        kind: 'changed',
        left: l === undefined ? undefined : x[l],
        right: r === undefined ? undefined : y[r],
        leftNo: l === undefined ? undefined : l + 1,
        rightNo: r === undefined ? undefined : r + 1,
      });
    }
    dels = [];
    adds = [];
  };
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      flush();
      rows.push({ kind: 'same', left: x[i], right: y[j], leftNo: i + 1, rightNo: j + 1 });
      i++;
      j++;
    } else if (j < m && (i === n || lcs[i][j + 1] >= lcs[i + 1][j])) {
      adds.push(j++);
    } else {
      dels.push(i++);
    }
  }
  flush();
  return rows;
}
