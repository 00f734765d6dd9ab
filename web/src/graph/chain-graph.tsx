/**
 * @module The transmission chain on a canvas: cases by generation, contacts folded by place until a case
 * is opened. Drawing is batched per colour, so thousands of nodes redraw within a frame while panning.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { context2d, useCanvas } from '../components/use-canvas.ts';
import { hitTest, layoutChain, type ChainGraphData, type ChainLayout, type LaidNode } from './chain-layout.ts';

const CASE_COLORS: Record<string, string> = { confirmed: '#c62828', asymptomatic: '#ef8d32', suspected: '#8e7cc3' };
const CONTACT_COLORS: Record<string, string> = { close: '#1f5fb4', secondary: '#5d8fd1', companion: '#2f8c8c', general: '#9aa3ad' };

interface Camera { x: number; y: number; s: number }

function fit(layout: ChainLayout, w: number, h: number): Camera {
  const b = layout.bounds;
  const s = Math.min((w - 40) / Math.max(1, b.x1 - b.x0), (h - 40) / Math.max(1, b.y1 - b.y0), 2);
  return { x: (b.x0 + b.x1) / 2, y: (b.y0 + b.y1) / 2, s: Math.max(s, 0.005) };
}

function colorOf(n: LaidNode): string {
  if (n.kind === 'case') return CASE_COLORS[n.status ?? ''] ?? '#b0413e';
  if (n.kind === 'cluster') return CONTACT_COLORS[n.status ?? ''] ?? '#6b7785';
  return CONTACT_COLORS[n.status ?? ''] ?? '#9aa3ad';
}

export interface ChainGraphProps {
  data: ChainGraphData;
  height?: number;
  /** Cases opened at first (e.g. the case of the workspace). */
  initiallyExpanded?: readonly string[];
  onSelect?: (node: LaidNode) => void;
}

export function ChainGraph({ data, height = 460, initiallyExpanded, onSelect }: ChainGraphProps): React.JSX.Element {
  const { t } = useTranslation();
  const { wrapRef, canvasRef, size } = useCanvas(height);
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(() => new Set(initiallyExpanded ?? []));
  const [camera, setCamera] = useState<Camera | undefined>(undefined);
  const [selected, setSelected] = useState<LaidNode | undefined>(undefined);
  const drag = useRef<{ x: number; y: number; moved: boolean } | undefined>(undefined);
  const layout = useMemo(() => layoutChain(data, expanded), [data, expanded]);
  const fitted = useMemo(() => (size.width ? fit(layout, size.width, size.height) : undefined), [layout, size]);
  const cam = camera ?? fitted;
  useEffect(() => setCamera(undefined), [data]);

  useEffect(() => {
    const c = canvasRef.current;
    if (!c || !cam || size.width === 0) return;
    const started = performance.now();
    const ctx = context2d(c, size);
    if (!ctx) return;
    const W = size.width, H = size.height;
    ctx.fillStyle = '#fbfbfd'; ctx.fillRect(0, 0, W, H);
    const sx = (x: number): number => (x - cam.x) * cam.s + W / 2;
    const sy = (y: number): number => (y - cam.y) * cam.s + H / 2;
    const visible = (n: LaidNode): boolean => { const x = sx(n.x), y = sy(n.y), r = n.r * cam.s + 2; return x > -r && y > -r && x < W + r && y < H + r; };

    // Place clusters among siblings: a tinted band behind them, labelled when there is room.
    ctx.font = '11px system-ui, "Noto Sans CJK SC", sans-serif';
    for (const b of layout.bands) {
      const x0 = sx(b.x0), x1 = sx(b.x1), y = sy(b.y);
      if (x1 < 0 || x0 > W || y < -30 || y > H + 30) continue;
      ctx.fillStyle = 'rgba(120, 140, 200, 0.14)';
      const hh = Math.max(6, 16 * cam.s);
      ctx.fillRect(x0, y - hh, x1 - x0, 2 * hh);
      if (cam.s > 0.35 && x1 - x0 > 40) { ctx.fillStyle = '#44506a'; ctx.textAlign = 'left'; ctx.fillText(b.place, x0 + 2, y - hh - 4); }
    }
    // Edges in one path per kind: chain links darker than links to contacts.
    const chainPath = new Path2D(), contactPath = new Path2D();
    for (const [a, b] of layout.edges) {
      const na = layout.nodes[a], nb = layout.nodes[b];
      const ax = sx(na.x), ay = sy(na.y), bx = sx(nb.x), by = sy(nb.y);
      // An edge whose both ends are off the same side of the screen cannot cross it.
      if ((ax < 0 && bx < 0) || (ax > W && bx > W) || (ay < 0 && by < 0) || (ay > H && by > H)) continue;
      const p = nb.kind === 'case' ? chainPath : contactPath;
      p.moveTo(ax, ay);
      if (nb.kind === 'case' && !layout.radial) {
        // A gentle S-curve between generations reads better than straight lines crossing.
        const my = (ay + by) / 2;
        p.bezierCurveTo(ax, my, bx, my, bx, by);
      } else p.lineTo(bx, by);
    }
    ctx.lineWidth = 1; ctx.strokeStyle = 'rgba(150, 160, 175, 0.7)'; ctx.stroke(contactPath);
    ctx.lineWidth = Math.max(0.6, Math.min(2, cam.s * 1.5)); ctx.strokeStyle = 'rgba(120, 40, 40, 0.55)'; ctx.stroke(chainPath);

    // Nodes batched by colour.
    const batches = new Map<string, Path2D>();
    for (const n of layout.nodes) {
      if (!visible(n)) continue;
      const color = colorOf(n);
      const p = batches.get(color) ?? new Path2D();
      const r = Math.max(1.5, n.r * cam.s);
      const x = sx(n.x), y = sy(n.y);
      // Tiny nodes as squares: at that size they look the same and cost far less than arcs.
      if (n.kind === 'cluster' || r < 2.5) p.rect(x - r, y - r, 2 * r, 2 * r);
      else { p.moveTo(x + r, y); p.arc(x, y, r, 0, Math.PI * 2); }
      batches.set(color, p);
    }
    for (const [color, p] of batches) { ctx.fillStyle = color; ctx.fill(p); }
    if (cam.s > 0.5) { ctx.lineWidth = 1; ctx.strokeStyle = '#fff'; for (const p of batches.values()) ctx.stroke(p); }
    if (selected) {
      const n = layout.nodes.find((m) => m.id === selected.id);
      if (n) { ctx.beginPath(); ctx.arc(sx(n.x), sy(n.y), n.r * cam.s + 5, 0, Math.PI * 2); ctx.strokeStyle = '#111'; ctx.lineWidth = 2; ctx.stroke(); }
    }
    // Labels only when zoomed in enough to read them, and only where they do not cover another label.
    if (cam.s > 0.6) {
      ctx.fillStyle = '#222'; ctx.textAlign = 'center'; ctx.textBaseline = 'top';
      const placed: [number, number, number, number][] = [];
      for (const n of layout.nodes) {
        if (!visible(n) || (n.kind === 'contact' && cam.s < 1.5)) continue;
        const text = n.kind === 'cluster' ? `${n.label} (${n.count})` : n.count ? `${n.label} (${n.count})` : n.label;
        const x = sx(n.x), y = sy(n.y) + n.r * cam.s + 3;
        const w = ctx.measureText(text).width;
        const box: [number, number, number, number] = [x - w / 2 - 2, y, x + w / 2 + 2, y + 13];
        if (placed.some((b) => b[0] < box[2] && box[0] < b[2] && b[1] < box[3] && box[1] < b[3])) continue;
        placed.push(box);
        if (placed.length > 400) break;
        ctx.fillText(text, x, y);
      }
    }
    c.dataset.renderMs = (performance.now() - started).toFixed(1);
    c.dataset.nodes = String(layout.nodes.length);
  }, [canvasRef, cam, size, layout, selected]);

  const toWorld = useCallback((clientX: number, clientY: number): [number, number] => {
    const c = canvasRef.current!;
    const r = c.getBoundingClientRect();
    return [(clientX - r.left - size.width / 2) / cam!.s + cam!.x, (clientY - r.top - size.height / 2) / cam!.s + cam!.y];
  }, [canvasRef, cam, size]);

  const zoom = useCallback((factor: number, clientX?: number, clientY?: number) => {
    if (!cam) return;
    const c = canvasRef.current!;
    const r = c.getBoundingClientRect();
    const px = clientX === undefined ? size.width / 2 : clientX - r.left;
    const py = clientY === undefined ? size.height / 2 : clientY - r.top;
    const wx = (px - size.width / 2) / cam.s + cam.x, wy = (py - size.height / 2) / cam.s + cam.y;
    const s = Math.min(8, Math.max(0.002, cam.s * factor));
    setCamera({ s, x: wx - (px - size.width / 2) / s, y: wy - (py - size.height / 2) / s });
  }, [cam, canvasRef, size]);

  useEffect(() => {
    const c = canvasRef.current;
    if (!c) return;
    const onWheel = (e: WheelEvent): void => { e.preventDefault(); zoom(e.deltaY < 0 ? 1.25 : 0.8, e.clientX, e.clientY); };
    c.addEventListener('wheel', onWheel, { passive: false });
    return () => c.removeEventListener('wheel', onWheel);
  }, [canvasRef, zoom]);

  const toggle = (n: LaidNode): void => {
    setSelected(n);
    onSelect?.(n);
    if (n.kind === 'contact') return;
    setExpanded((prev) => {
      const next = new Set(prev);
      if (next.has(n.id)) next.delete(n.id); else next.add(n.id);
      return next;
    });
  };

  const onKey = (e: React.KeyboardEvent): void => {
    if (!cam) return;
    const step = 60 / cam.s;
    const moves: Record<string, [number, number]> = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (moves[e.key]) { setCamera({ ...cam, x: cam.x + moves[e.key][0], y: cam.y + moves[e.key][1] }); e.preventDefault(); }
    else if (e.key === '+' || e.key === '=') { zoom(1.4); e.preventDefault(); }
    else if (e.key === '-') { zoom(1 / 1.4); e.preventDefault(); }
    else if (e.key === '0') { setCamera(undefined); e.preventDefault(); }
    else if (e.key === 'Enter' && selected) { toggle(selected); e.preventDefault(); }
    else if (e.key === 'n') {
      // Keyboard selection: "n" steps through the cases and centres on each; Enter opens or folds it.
      const cases = layout.nodes.filter((m) => m.kind === 'case');
      const i = selected ? cases.findIndex((m) => m.id === selected.id) : -1;
      const next = cases[(i + 1) % cases.length];
      if (next) { setSelected(next); setCamera({ x: next.x, y: next.y, s: Math.max(cam.s, 1) }); }
      e.preventDefault();
    }
  };

  const expandAll = (): void => {
    const all = new Set<string>(data.nodes.filter((n) => n.kind === 'case').map((n) => n.id));
    for (const n of layoutChain(data, all).nodes) if (n.kind === 'cluster') all.add(n.id);
    setExpanded(all);
  };

  return (
    <div className="chain" ref={wrapRef}>
      <div className="toolbar" role="toolbar" aria-label={t('chain.label')}>
        <span>{t('chain.cases', { count: layout.cases })} · {t('chain.contacts', { count: layout.contacts })} · {t('chain.clusters', { count: layout.clusters })}</span>
        <button type="button" onClick={expandAll}>{t('chain.expandAll')}</button>
        <button type="button" onClick={() => setExpanded(new Set())}>{t('chain.collapseAll')}</button>
        <button type="button" onClick={() => setCamera(undefined)}>{t('chain.fit')}</button>
        <button type="button" onClick={() => zoom(1.4)} aria-label={t('map.zoomIn')}>+</button>
        <button type="button" onClick={() => zoom(1 / 1.4)} aria-label={t('map.zoomOut')}>−</button>
      </div>
      <canvas
        ref={canvasRef}
        role="img"
        tabIndex={0}
        data-testid="chain-graph"
        className="chart-canvas"
        aria-label={`${t('chain.label')}. ${t('chain.help')}`}
        onKeyDown={onKey}
        onPointerDown={(e) => { drag.current = { x: e.clientX, y: e.clientY, moved: false }; (e.target as HTMLCanvasElement).setPointerCapture(e.pointerId); }}
        onPointerMove={(e) => {
          const d = drag.current;
          if (!d || !cam) return;
          const dx = e.clientX - d.x, dy = e.clientY - d.y;
          if (!d.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
          d.moved = true;
          setCamera({ ...cam, x: cam.x - dx / cam.s, y: cam.y - dy / cam.s });
          drag.current = { x: e.clientX, y: e.clientY, moved: true };
        }}
        onPointerUp={(e) => {
          const d = drag.current;
          drag.current = undefined;
          if (!d || d.moved || !cam) return;
          const [wx, wy] = toWorld(e.clientX, e.clientY);
          const hit = hitTest(layout, wx, wy, 4 / cam.s);
          if (hit) toggle(hit);
        }}
      />
      <p className="hint" aria-live="polite">{selected ? t('chain.selected', { label: selected.label }) : t('chain.help')}</p>
    </div>
  );
}
