/**
 * @module The trajectory as a timeline: one row per place kind, one bar per stay, time running left to
 * right with day ticks, so an analyst sees where a person was and for how long at a glance.
 */
import { useEffect, useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { context2d, useCanvas } from '../components/use-canvas.ts';

export interface TimelineItem { placeKind: string; label: string; start: number; end: number; lowConfidence?: boolean }

const KIND_COLORS: Record<string, string> = {
  household: '#4c7a4c', workplace: '#3c6da8', school: '#6d5bb0', venue: '#c0502f', hotel: '#a0632b', hospital: '#b8324b',
  train: '#2f8c8c', flight: '#2a6f97', bus: '#7a8b2e', metro: '#46789a', cell: '#8a8a8a', checkpoint: '#9a6b00',
};

export function Timeline({ items, timeZone }: { items: readonly TimelineItem[]; timeZone?: string }): React.JSX.Element {
  const { t, i18n } = useTranslation();
  const kinds = useMemo(() => [...new Set(items.map((i) => i.placeKind))], [items]);
  const height = Math.max(120, 40 + kinds.length * 26);
  const { wrapRef, canvasRef, size } = useCanvas(height);

  useEffect(() => {
    const c = canvasRef.current;
    if (!c || size.width === 0) return;
    const ctx = context2d(c, size);
    if (!ctx) return;
    const W = size.width, H = size.height;
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, W, H);
    ctx.font = '11px system-ui, "Noto Sans CJK SC", sans-serif';
    if (items.length === 0) { ctx.fillStyle = '#555'; ctx.textAlign = 'center'; ctx.fillText(t('chart.noData'), W / 2, H / 2); return; }
    const t0 = Math.min(...items.map((i) => i.start)), t1 = Math.max(...items.map((i) => i.end));
    const left = 90, right = 10, top = 8, bottom = 28;
    const x = (s: number): number => left + ((s - t0) / Math.max(1, t1 - t0)) * (W - left - right);
    // Day ticks at local midnight of the deployment's zone (approximated by whole days from t0's day).
    const dayFmt = new Intl.DateTimeFormat(i18n.language, { month: '2-digit', day: '2-digit', timeZone });
    const firstDay = Math.floor(t0 / 86400) * 86400;
    const days = Math.ceil((t1 - firstDay) / 86400);
    const every = Math.max(1, Math.ceil(days / Math.max(1, (W - left) / 70)));
    ctx.strokeStyle = '#ececf0'; ctx.fillStyle = '#444'; ctx.textAlign = 'center'; ctx.textBaseline = 'top';
    for (let d = 0; d <= days; d++) {
      const s = firstDay + d * 86400;
      if (s < t0) continue;
      ctx.beginPath(); ctx.moveTo(x(s) + 0.5, top); ctx.lineTo(x(s) + 0.5, H - bottom); ctx.stroke();
      if (d % every === 0) ctx.fillText(dayFmt.format(new Date(s * 1000)), x(s), H - bottom + 6);
    }
    ctx.textAlign = 'right'; ctx.textBaseline = 'middle';
    kinds.forEach((k, row) => {
      const yy = top + row * 26;
      ctx.fillStyle = '#333'; ctx.fillText(t(`placeKind.${k}`, { defaultValue: k }), left - 8, yy + 11);
      for (const it of items) {
        if (it.placeKind !== k) continue;
        ctx.fillStyle = KIND_COLORS[k] ?? '#666';
        ctx.globalAlpha = it.lowConfidence ? 0.45 : 1;
        ctx.fillRect(x(it.start), yy + 3, Math.max(2, x(it.end) - x(it.start)), 16);
      }
      ctx.globalAlpha = 1;
    });
  }, [canvasRef, size, items, kinds, t, i18n.language, timeZone]);

  return (
    <figure className="chart" ref={wrapRef}>
      <canvas ref={canvasRef} role="img" data-testid="timeline" className="chart-canvas" aria-label={`${t('case.timelineLabel')}: ${t('case.presences', { count: items.length })}`} />
    </figure>
  );
}
