// One group of the worker map: an ARIA grid of cells, one per worker, in as
// many columns as fit. One Tab stop per grid (roving tabindex): arrow keys,
// Home/End, Page Up/Down and Ctrl+Home/End move, Enter or Space opens the
// worker's logs. Events are delegated to the grid, so 1,000 cells cost 1,000
// plain elements and no handlers of their own.
import { memo, useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { ReplicaStatus } from '../api/types';
import { describeReplica, stateOf, troubled } from '../lib/workers';

/** Cell sizes of the zoom levels; from the third on, cells show the worker index. */
export const ZOOMS = [
  { size: 10, text: false },
  { size: 16, text: false },
  { size: 32, text: true },
  { size: 56, text: true },
] as const;
const GAP = 3;

/**
 * useWidth is the element's width, measured before the first paint (0 until
 * then, so the cells are laid out once, for the real width). Where layout is
 * not computed (tests), 600.
 */
function useWidth(ref: React.RefObject<HTMLElement | null>): number {
  const [w, setW] = useState(0);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    setW(el.clientWidth || 600);
    if (typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => setW(el.clientWidth || 600));
    ro.observe(el);
    return () => ro.disconnect();
  }, [ref]);
  return w;
}

export interface WorkerGridProps {
  workers: ReplicaStatus[];
  /** The group's name, for the grid's accessible name. */
  label: string;
  zoom: number;
  onSelect: (index: number) => void;
  onFocusWorker: (w: ReplicaStatus) => void;
}

export const WorkerGrid = memo(function WorkerGrid({ workers, label, zoom, onSelect, onFocusWorker }: WorkerGridProps) {
  const box = useRef<HTMLDivElement>(null);
  const width = useWidth(box);
  const z = ZOOMS[zoom] ?? ZOOMS[1];
  const cols = Math.max(1, Math.floor((width + GAP) / (z.size + GAP)));
  const [active, setActive] = useState(0);
  const pending = useRef(false);
  const pos = Math.min(active, workers.length - 1);

  // Move focus after the render that made the new cell the tabbable one.
  useEffect(() => {
    if (!pending.current) return;
    pending.current = false;
    box.current?.querySelector<HTMLElement>(`[data-pos="${pos}"]`)?.focus();
  }, [pos]);

  const at = (e: React.SyntheticEvent) => {
    const el = (e.target as HTMLElement).closest<HTMLElement>('[data-pos]');
    return el ? Number(el.dataset.pos) : -1;
  };
  const onKeyDown = (e: React.KeyboardEvent) => {
    const i = at(e);
    if (i < 0) return;
    const last = workers.length - 1;
    const row = Math.floor(i / cols) * cols;
    let next: number | undefined;
    switch (e.key) {
      case 'ArrowRight':
        next = Math.min(last, i + 1);
        break;
      case 'ArrowLeft':
        next = Math.max(0, i - 1);
        break;
      case 'ArrowDown':
        next = i + cols <= last ? i + cols : i;
        break;
      case 'ArrowUp':
        next = i - cols >= 0 ? i - cols : i;
        break;
      case 'Home':
        next = e.ctrlKey ? 0 : row;
        break;
      case 'End':
        next = e.ctrlKey ? last : Math.min(last, row + cols - 1);
        break;
      case 'PageDown':
        next = Math.min(last, i + cols * 5);
        break;
      case 'PageUp':
        next = Math.max(0, i - cols * 5);
        break;
      case 'Enter':
      case ' ':
        e.preventDefault();
        onSelect(workers[i].index ?? 0);
        return;
      default:
        return;
    }
    e.preventDefault();
    if (next === i) return;
    pending.current = true;
    setActive(next);
  };

  const rows: ReplicaStatus[][] = [];
  // Until the width is known (the layout effect, before the first paint) there is nothing to lay out.
  if (width) for (let i = 0; i < workers.length; i += cols) rows.push(workers.slice(i, i + cols));
  return (
    <div
      ref={box}
      role="grid"
      aria-label={`Workers: ${label}`}
      className="odh-wgrid"
      style={{ '--odh-cell': `${z.size}px`, '--odh-gap': `${GAP}px` } as React.CSSProperties}
      onKeyDown={onKeyDown}
      onClick={(e) => {
        const i = at(e);
        if (i >= 0) onSelect(workers[i].index ?? 0);
      }}
      onFocus={(e) => {
        const i = at(e);
        if (i < 0) return;
        if (i !== pos) setActive(i);
        onFocusWorker(workers[i]);
      }}
      onMouseOver={(e) => {
        const i = at(e);
        if (i >= 0) onFocusWorker(workers[i]);
      }}
    >
      {rows.map((r, ri) => (
        <div role="row" key={ri} className="odh-wgrid-row">
          {r.map((w, ci) => {
            const i = ri * cols + ci;
            const s = stateOf(w);
            return (
              <div
                key={w.name}
                role="gridcell"
                tabIndex={i === pos ? 0 : -1}
                data-pos={i}
                data-testid={`topology-${w.name}`}
                data-state={s}
                aria-label={`${describeReplica(w)}. Enter shows its logs.`}
                className={`odh-wcell odh-wcell--${s.toLowerCase()}${troubled(w) ? ' odh-wcell--troubled' : ''}`}
              >
                {z.text ? <span aria-hidden="true">{w.index}</span> : null}
              </div>
            );
          })}
        </div>
      ))}
    </div>
  );
});
