/**
 * @module The epidemic curve: cases per onset date as stacked bars (confirmed, asymptomatic, suspected),
 * with the days without cases shown as gaps rather than skipped.
 */
import { useEffect, useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { context2d, useCanvas } from '../components/use-canvas.ts';
import { buckets, niceStep } from './scale.ts';

export interface EpiPoint { date: string; status: string; count: number }

export const STATUS_COLORS: Record<string, string> = {
  cases: '#c62828',
  confirmed: '#c62828',
  asymptomatic: '#ef8d32',
  suspected: '#8e7cc3',
};
const STACK = ['confirmed', 'asymptomatic', 'suspected'];

export function EpiCurve({ data, height = 220 }: { data: readonly EpiPoint[]; height?: number }): React.JSX.Element {
  const { t } = useTranslation();
  const { wrapRef, canvasRef, size } = useCanvas(height);
  const { days, byDay, max, unit } = useMemo(() => {
    const b = buckets(data.map((p) => p.date));
    const byDay = new Map<string, Map<string, number>>();
    for (const p of data) {
      const key = b.keyOf(p.date);
      const m = byDay.get(key) ?? new Map<string, number>();
      m.set(p.status, (m.get(p.status) ?? 0) + p.count);
      byDay.set(key, m);
    }
    const days = b.keys;
    let max = 0;
    for (const m of byDay.values()) max = Math.max(max, [...m.values()].reduce((a, b) => a + b, 0));
    return { days, byDay, max, unit: b.unit };
  }, [data]);

  useEffect(() => {
    const c = canvasRef.current;
    if (!c || size.width === 0) return;
    const ctx = context2d(c, size);
    if (!ctx) return;
    const W = size.width, H = size.height;
    const left = 40, right = 10, top = 10, bottom = 36;
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, W, H);
    ctx.font = '11px system-ui, "Noto Sans CJK SC", sans-serif';
    if (days.length === 0) {
      ctx.fillStyle = '#555'; ctx.textAlign = 'center';
      ctx.fillText(t('chart.noData'), W / 2, H / 2);
      return;
    }
    const step = niceStep(max);
    const top0 = Math.ceil(max / step) * step || 1;
    const ph = H - top - bottom, pw = W - left - right;
    const y = (v: number): number => top + ph - (v / top0) * ph;
    ctx.strokeStyle = '#e3e3e8'; ctx.fillStyle = '#444'; ctx.textAlign = 'right'; ctx.textBaseline = 'middle'; ctx.lineWidth = 1;
    for (let v = 0; v <= top0; v += step) {
      ctx.beginPath(); ctx.moveTo(left, Math.round(y(v)) + 0.5); ctx.lineTo(W - right, Math.round(y(v)) + 0.5); ctx.stroke();
      ctx.fillText(String(v), left - 6, y(v));
    }
    const bw = pw / days.length;
    days.forEach((d, i) => {
      let acc = 0;
      const m = byDay.get(d);
      for (const s of [...STACK, ...[...(m?.keys() ?? [])].filter((k) => !STACK.includes(k))]) {
        const n = m?.get(s) ?? 0;
        if (!n) continue;
        ctx.fillStyle = STATUS_COLORS[s] ?? '#777';
        // Bars at most 36 px wide, centred in their slot: a few days should not look like a wall.
        const w = Math.max(1, Math.min(36, bw - Math.min(2, bw * 0.2)));
        ctx.fillRect(left + i * bw + (bw - w) / 2, y(acc + n), w, y(acc) - y(acc + n));
        acc += n;
      }
    });
    // Date ticks: about one per 60 px.
    ctx.fillStyle = '#444'; ctx.textAlign = 'center'; ctx.textBaseline = 'top';
    const every = Math.max(1, Math.ceil(60 / bw));
    days.forEach((d, i) => { if (i % every === 0) ctx.fillText(unit === 'month' ? d : d.slice(5), left + (i + 0.5) * bw, H - bottom + 6); });
    ctx.strokeStyle = '#888'; ctx.beginPath(); ctx.moveTo(left, y(0) + 0.5); ctx.lineTo(W - right, y(0) + 0.5); ctx.stroke();
    ctx.fillStyle = '#555'; ctx.textAlign = 'left';
    ctx.fillText(`${t('chart.date')} (${t(`chart.per.${unit}`)})`, left, H - 14);
  }, [canvasRef, size, days, byDay, max, unit, t]);

  const total = data.reduce((a, p) => a + p.count, 0);
  return (
    <figure className="chart" ref={wrapRef}>
      <canvas ref={canvasRef} role="img" data-testid="epi-curve" className="chart-canvas" aria-label={`${t('chart.epiLabel')}: ${total}`} />
      <figcaption className="legend">
        {[...new Set(data.map((p) => p.status))].map((s) => <span key={s}><i className="sw" style={{ background: STATUS_COLORS[s] ?? '#777' }} />{t(`status.${s}`, { defaultValue: s })}</span>)}
      </figcaption>
    </figure>
  );
}
