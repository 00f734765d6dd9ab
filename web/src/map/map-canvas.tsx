/**
 * @module The basemap, drawn on a canvas from data Cordon has (no tiles from the internet): jurisdiction
 * polygons filled by level, their boundaries, roads, labels in the current language, and on top the
 * overlays a view needs (cases and leads per jurisdiction, points, a trajectory path). Pan with a drag
 * or the arrow keys, zoom with the wheel or +/−.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { context2d, useCanvas } from '../components/use-canvas.ts';
import {
  boundsOf, contains, fitView, labelAnchor, panBy, rings, unproject, zoomAt,
  type Feature, type FeatureCollection, type Geometry, type JurisdictionProps, type Position, type View,
} from './geo.ts';

export interface MapPoint { lon: number; lat: number; kind: 'case' | 'lead' | 'place'; label?: string }

export interface MapCanvasProps {
  jurisdictions?: FeatureCollection<JurisdictionProps>;
  roads?: FeatureCollection;
  /** Counts per jurisdiction code, drawn as a red tint and a badge. */
  caseCounts?: ReadonlyMap<string, number>;
  leadCounts?: ReadonlyMap<string, number>;
  points?: readonly MapPoint[];
  /** A trajectory, in order; drawn as a line with numbered stops. */
  path?: readonly { lon: number; lat: number; label?: string }[];
  height?: number;
  /** Accessible name of the map. */
  label?: string;
  testId?: string;
  onSelectJurisdiction?: (code: string) => void;
}

// Pastel fills per district, distinguishable side by side and light enough for dark labels on top.
const DISTRICT_FILLS = ['#e8efe1', '#f3ebdc', '#e3ecf3', '#f1e4e8', '#ebe8f3', '#e6f1ee', '#f4f0d9', '#e9e6df', '#dfeee4', '#f2e6da', '#e4e9f0', '#efe9e2'];
const LEVEL_ORDER: Record<string, number> = { city: 0, district: 1, precinct: 2, community: 3 };

interface Prepared {
  feature: Feature<JurisdictionProps>;
  path: Path2D;
  level: number;
  fill: string;
  anchor?: Position;
  district: string;
}

/** Builds a Path2D in "projected degrees" (x = lon·k, y = −lat) once; views then only change the transform. */
function toPath(g: Geometry, k: number, closed: boolean): Path2D {
  const p = new Path2D();
  for (const ring of rings(g)) {
    ring.forEach(([lon, lat], i) => (i === 0 ? p.moveTo(lon * k, -lat) : p.lineTo(lon * k, -lat)));
    if (closed) p.closePath();
  }
  return p;
}

function roadWidth(props: Record<string, unknown>): { width: number; major: boolean } {
  const kind = String(props.kind ?? props.class ?? props.highway ?? props.type ?? '');
  if (/motorway|highway|expressway|高速/.test(kind)) return { width: 4, major: true };
  if (/ring|primary|trunk|arterial|main|rail|metro/.test(kind)) return { width: 2.6, major: true };
  return { width: 1.4, major: false };
}

/** A label short enough for a map: "Cixi" rather than "Cixi District Bureau" (the legend says the level). */
export function shortName(p: JurisdictionProps, lang: string): string {
  if (lang.startsWith('zh')) return p.name.replace(/(公安局|派出所)$/, '');
  return (p.name_en || p.name).replace(/\s+(District Bureau|Police Station|Public Security Bureau|Bureau|Community)$/i, '');
}

export function MapCanvas(props: MapCanvasProps): React.JSX.Element {
  const { t, i18n } = useTranslation();
  const height = props.height ?? 420;
  const { wrapRef, canvasRef, size } = useCanvas(height);
  const [view, setView] = useState<View | undefined>(undefined);
  const drag = useRef<{ x: number; y: number } | undefined>(undefined);
  const [hover, setHover] = useState<string | undefined>(undefined);

  const bounds = useMemo(() => {
    const fs: Feature<unknown>[] = [...(props.jurisdictions?.features ?? [])];
    if (fs.length === 0 && props.path?.length) {
      fs.push({ type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: props.path.map((p) => [p.lon, p.lat] as Position) } });
    }
    return boundsOf(fs);
  }, [props.jurisdictions, props.path]);

  const k = useMemo(() => fitView(bounds, 100, 100).k, [bounds]);

  const prepared = useMemo<Prepared[]>(() => {
    const features = props.jurisdictions?.features ?? [];
    const districts = features.filter((f) => f.properties.level === 'district').map((f) => f.properties.code).sort();
    const byCode = new Map(features.map((f) => [f.properties.code, f]));
    const districtOf = (f: Feature<JurisdictionProps>): string => {
      let cur: Feature<JurisdictionProps> | undefined = f;
      for (let i = 0; cur && i < 6; i++) {
        if (cur.properties.level === 'district') return cur.properties.code;
        cur = cur.properties.parent ? byCode.get(cur.properties.parent) : undefined;
      }
      return f.properties.code;
    };
    return features
      .filter((f) => f.geometry)
      .map((f) => {
        const district = districtOf(f);
        const idx = Math.max(0, districts.indexOf(district));
        return {
          feature: f,
          path: toPath(f.geometry as Geometry, k, true),
          level: LEVEL_ORDER[f.properties.level] ?? 3,
          fill: DISTRICT_FILLS[idx % DISTRICT_FILLS.length],
          anchor: labelAnchor(f.geometry as Geometry),
          district,
        };
      })
      .sort((a, b) => a.level - b.level);
  }, [props.jurisdictions, k]);

  // Counts summed up the tree, so a district shows the cases of all its communities when zoomed out.
  const rolled = useMemo(() => {
    const parentOf = new Map((props.jurisdictions?.features ?? []).map((f) => [f.properties.code, f.properties.parent ?? null]));
    const up = (counts: ReadonlyMap<string, number> | undefined): Map<string, number> => {
      const out = new Map<string, number>();
      for (const [code, n] of counts ?? []) {
        let cur: string | null | undefined = code;
        for (let depth = 0; cur && depth < 8; depth++) { out.set(cur, (out.get(cur) ?? 0) + n); cur = parentOf.get(cur); }
      }
      return out;
    };
    return { cases: up(props.caseCounts), leads: up(props.leadCounts) };
  }, [props.jurisdictions, props.caseCounts, props.leadCounts]);

  const roadPaths = useMemo(
    () => (props.roads?.features ?? []).filter((f) => f.geometry).map((f) => ({ path: toPath(f.geometry as Geometry, k, false), ...roadWidth(f.properties ?? {}) })),
    [props.roads, k],
  );

  const fitted = useMemo(() => (size.width > 0 ? { ...fitView(bounds, size.width, height), k } : undefined), [bounds, size.width, height, k]);
  useEffect(() => setView(undefined), [bounds]);
  const v = view ?? fitted;

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas || !v || size.width === 0) return;
    const ctx = context2d(canvas, size);
    if (!ctx) return;
    const W = size.width, H = size.height;
    // Land around the city, a neutral grey-green; water-blue would mislead where the data has no sea.
    ctx.fillStyle = '#eef1ec';
    ctx.fillRect(0, 0, W, H);
    const toScreen = (): void => {
      ctx.setTransform(size.ratio * v.scale, 0, 0, size.ratio * v.scale, size.ratio * (W / 2 - v.lon * v.k * v.scale), size.ratio * (H / 2 + v.lat * v.scale));
    };
    const px = 1 / v.scale;
    const maxCount = Math.max(1, ...(props.caseCounts?.values() ?? []));
    const finest = Math.max(0, ...prepared.map((p) => p.level));

    toScreen();
    // Fills: districts in their pastel; lower levels slightly tinted by their district's colour.
    for (const p of prepared) {
      if (p.level === 0) { ctx.fillStyle = '#f6f5f0'; ctx.fill(p.path, 'evenodd'); continue; }
      if (p.level === 1 || p.level === finest) { ctx.fillStyle = p.fill; ctx.fill(p.path, 'evenodd'); }
    }
    // Case density as a red tint on the jurisdictions that carry counts.
    if (props.caseCounts?.size) {
      for (const p of prepared) {
        const n = props.caseCounts.get(p.feature.properties.code);
        if (!n || p.level === 0) continue;
        ctx.fillStyle = `rgba(200, 40, 40, ${0.12 + 0.45 * Math.sqrt(n / maxCount)})`;
        ctx.fill(p.path, 'evenodd');
      }
    }
    if (hover) {
      const h = prepared.find((p) => p.feature.properties.code === hover);
      if (h) { ctx.fillStyle = 'rgba(30, 90, 160, 0.12)'; ctx.fill(h.path, 'evenodd'); }
    }
    // Roads: a white casing under a warm fill, as on printed maps.
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    for (const r of roadPaths) { ctx.strokeStyle = '#b9b3a6'; ctx.lineWidth = (r.width + 1.6) * px; ctx.stroke(r.path); }
    for (const r of roadPaths) { ctx.strokeStyle = r.major ? '#f7d79a' : '#ffffff'; ctx.lineWidth = r.width * px; ctx.stroke(r.path); }
    // Boundaries: finer levels lighter and thinner, dashed for communities.
    for (let level = 3; level >= 0; level--) {
      ctx.setLineDash(level === 3 ? [3 * px, 3 * px] : []);
      ctx.strokeStyle = level <= 1 ? '#6d6a75' : level === 2 ? '#9a98a3' : '#c2c0c8';
      ctx.lineWidth = (level === 0 ? 2.2 : level === 1 ? 1.6 : level === 2 ? 0.9 : 0.6) * px;
      for (const p of prepared) if (p.level === level) ctx.stroke(p.path);
    }
    ctx.setLineDash([]);

    // Trajectory path on top of the basemap.
    if (props.path && props.path.length > 0) {
      const path = new Path2D();
      props.path.forEach((p, i) => (i === 0 ? path.moveTo(p.lon * v.k, -p.lat) : path.lineTo(p.lon * v.k, -p.lat)));
      ctx.strokeStyle = 'rgba(255,255,255,0.9)'; ctx.lineWidth = 6 * px; ctx.stroke(path);
      ctx.strokeStyle = '#1f5fb4'; ctx.lineWidth = 3 * px; ctx.stroke(path);
    }

    // From here on, screen pixels.
    ctx.setTransform(size.ratio, 0, 0, size.ratio, 0, 0);
    const sx = (lon: number): number => W / 2 + (lon - v.lon) * v.k * v.scale;
    const sy = (lat: number): number => H / 2 - (lat - v.lat) * v.scale;

    for (const pt of props.points ?? []) {
      const x = sx(pt.lon), y = sy(pt.lat);
      if (x < -10 || y < -10 || x > W + 10 || y > H + 10) continue;
      ctx.beginPath();
      if (pt.kind === 'lead') { ctx.moveTo(x, y - 5); ctx.lineTo(x + 5, y); ctx.lineTo(x, y + 5); ctx.lineTo(x - 5, y); ctx.closePath(); ctx.fillStyle = '#e08a00'; }
      else if (pt.kind === 'case') { ctx.arc(x, y, 5, 0, Math.PI * 2); ctx.fillStyle = '#c62828'; }
      else { ctx.rect(x - 3, y - 3, 6, 6); ctx.fillStyle = '#5e6b7a'; }
      ctx.fill();
      ctx.strokeStyle = '#fff'; ctx.lineWidth = 1.2; ctx.stroke();
    }
    if (props.path) {
      ctx.font = 'bold 10px system-ui, "Noto Sans CJK SC", sans-serif';
      ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
      props.path.forEach((p, i) => {
        const x = sx(p.lon), y = sy(p.lat);
        ctx.beginPath(); ctx.arc(x, y, 8, 0, Math.PI * 2);
        ctx.fillStyle = i === 0 ? '#0d3c7a' : '#1f5fb4'; ctx.fill();
        ctx.strokeStyle = '#fff'; ctx.lineWidth = 1.5; ctx.stroke();
        ctx.fillStyle = '#fff'; ctx.fillText(String(i + 1), x, y);
      });
    }

    // Cases (red circles) and open leads (orange diamonds) per unit, at the level that fits the zoom.
    const bubbleLevel = Math.min(finest, v.scale > 900 ? 3 : v.scale > 350 ? 2 : 1);
    ctx.textAlign = 'center'; ctx.textBaseline = 'middle'; ctx.font = 'bold 10px system-ui, sans-serif';
    for (const p of prepared) {
      if (p.level !== bubbleLevel || !p.anchor) continue;
      const cases = rolled.cases.get(p.feature.properties.code) ?? 0;
      const leads = rolled.leads.get(p.feature.properties.code) ?? 0;
      if (!cases && !leads) continue;
      const x = sx(p.anchor[0]), y = sy(p.anchor[1]) + 16;
      if (x < -30 || y < -30 || x > W + 30 || y > H + 30) continue;
      if (leads) {
        const r = Math.min(14, 4 + 1.5 * Math.sqrt(leads));
        const lx = x + (cases ? 12 : 0);
        ctx.beginPath(); ctx.moveTo(lx, y - r); ctx.lineTo(lx + r, y); ctx.lineTo(lx, y + r); ctx.lineTo(lx - r, y); ctx.closePath();
        ctx.fillStyle = 'rgba(224, 138, 0, 0.9)'; ctx.fill(); ctx.strokeStyle = '#fff'; ctx.lineWidth = 1; ctx.stroke();
      }
      if (cases) {
        const r = Math.min(18, 6 + 2 * Math.sqrt(cases));
        ctx.beginPath(); ctx.arc(x, y, r, 0, Math.PI * 2);
        ctx.fillStyle = 'rgba(198, 40, 40, 0.92)'; ctx.fill(); ctx.strokeStyle = '#fff'; ctx.lineWidth = 1.5; ctx.stroke();
        ctx.fillStyle = '#fff'; ctx.fillText(cases > 999 ? `${Math.round(cases / 100) / 10}k` : String(cases), x, y);
      }
    }

    // Labels, largest units first; skip any that would overlap one already placed.
    const placed: [number, number, number, number][] = [];
    const lang = i18n.language;
    const labelLevels = v.scale > 900 ? [1, 2, 3] : v.scale > 350 ? [1, 2] : [1];
    ctx.textAlign = 'center'; ctx.textBaseline = 'middle';
    for (const level of labelLevels) {
      ctx.font = `${level === 1 ? '600 14px' : level === 2 ? '500 12px' : '11px'} system-ui, "Noto Sans CJK SC", sans-serif`;
      for (const p of prepared) {
        if (p.level !== level || !p.anchor) continue;
        const name = shortName(p.feature.properties, lang);
        const text = name;
        const x = sx(p.anchor[0]), y = sy(p.anchor[1]);
        const w = ctx.measureText(text).width + 6, h = level === 1 ? 18 : 15;
        const box: [number, number, number, number] = [x - w / 2, y - h / 2, x + w / 2, y + h / 2];
        if (box[2] < 0 || box[0] > W || box[3] < 0 || box[1] > H) continue;
        if (placed.some((b) => b[0] < box[2] && box[0] < b[2] && b[1] < box[3] && box[1] < b[3])) continue;
        placed.push(box);
        ctx.lineWidth = 3; ctx.strokeStyle = 'rgba(255,255,255,0.92)';
        ctx.strokeText(text, x, y);
        ctx.fillStyle = level === 1 ? '#222' : '#3d3d48';
        ctx.fillText(text, x, y);
      }
    }

    // Scale bar: a round number of kilometres near 100 px.
    const kmPerPx = 111.32 / v.scale;
    const nice = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100].find((d) => d / kmPerPx >= 60) ?? 100;
    const len = nice / kmPerPx;
    ctx.fillStyle = 'rgba(255,255,255,0.8)'; ctx.fillRect(8, H - 28, len + 50, 22);
    ctx.strokeStyle = '#333'; ctx.lineWidth = 2;
    ctx.beginPath(); ctx.moveTo(14, H - 12); ctx.lineTo(14 + len, H - 12); ctx.stroke();
    ctx.fillStyle = '#222'; ctx.font = '11px system-ui, sans-serif'; ctx.textAlign = 'left';
    ctx.fillText(`${nice} km`, 18 + len, H - 14);
    // North arrow.
    ctx.beginPath(); ctx.moveTo(W - 20, 12); ctx.lineTo(W - 26, 28); ctx.lineTo(W - 14, 28); ctx.closePath();
    ctx.fillStyle = '#333'; ctx.fill();
    ctx.font = 'bold 10px system-ui, sans-serif'; ctx.textAlign = 'center'; ctx.fillText('N', W - 20, 38);
  }, [canvasRef, v, size, prepared, roadPaths, props.caseCounts, props.leadCounts, rolled, props.points, props.path, hover, i18n.language]);

  const zoom = useCallback((factor: number, x?: number, y?: number) => {
    if (!v) return;
    setView(zoomAt(v, size.width, size.height, x ?? size.width / 2, y ?? size.height / 2, factor));
  }, [v, size]);

  const onKey = (e: React.KeyboardEvent): void => {
    if (!v) return;
    const step = 60;
    const moves: Record<string, [number, number]> = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    if (moves[e.key]) { setView(panBy(v, moves[e.key][0], moves[e.key][1])); e.preventDefault(); }
    else if (e.key === '+' || e.key === '=') { zoom(1.4); e.preventDefault(); }
    else if (e.key === '-') { zoom(1 / 1.4); e.preventDefault(); }
    else if (e.key === '0') { setView(undefined); e.preventDefault(); }
  };

  useEffect(() => {
    // A non-passive wheel listener, so the page does not scroll while zooming the map.
    const c = canvasRef.current;
    if (!c) return;
    const onWheel = (e: WheelEvent): void => {
      e.preventDefault();
      const r = c.getBoundingClientRect();
      zoom(e.deltaY < 0 ? 1.25 : 0.8, e.clientX - r.left, e.clientY - r.top);
    };
    c.addEventListener('wheel', onWheel, { passive: false });
    return () => c.removeEventListener('wheel', onWheel);
  }, [canvasRef, zoom]);

  const pick = (x: number, y: number): string | undefined => {
    if (!v) return undefined;
    const [lon, lat] = unproject(v, size.width, size.height, x, y);
    let best: Prepared | undefined;
    for (const p of prepared) {
      if (p.level === 0 || !p.feature.geometry) continue;
      if (contains(p.feature.geometry, lon, lat) && (!best || p.level > best.level)) best = p;
    }
    return best?.feature.properties.code;
  };
  const hoverName = useMemo(() => {
    const f = prepared.find((p) => p.feature.properties.code === hover)?.feature.properties;
    return f ? (i18n.language.startsWith('zh') ? f.name : f.name_en || f.name) : undefined;
  }, [hover, prepared, i18n.language]);

  return (
    <div className="map" ref={wrapRef}>
      <canvas
        ref={canvasRef}
        role="img"
        tabIndex={0}
        aria-label={`${props.label ?? t('map.label')}. ${t('map.help')}`}
        data-testid={props.testId ?? 'map'}
        className="chart-canvas"
        height={height}
        onKeyDown={onKey}
        onPointerDown={(e) => { drag.current = { x: e.clientX, y: e.clientY }; (e.target as HTMLCanvasElement).setPointerCapture(e.pointerId); }}
        onPointerMove={(e) => {
          if (drag.current && v) {
            setView(panBy(v, e.clientX - drag.current.x, e.clientY - drag.current.y));
            drag.current = { x: e.clientX, y: e.clientY };
          } else {
            const r = (e.target as HTMLCanvasElement).getBoundingClientRect();
            setHover(pick(e.clientX - r.left, e.clientY - r.top));
          }
        }}
        onPointerUp={(e) => {
          const start = drag.current;
          drag.current = undefined;
          if (start && Math.abs(e.clientX - start.x) < 3 && Math.abs(e.clientY - start.y) < 3 && props.onSelectJurisdiction) {
            const r = (e.target as HTMLCanvasElement).getBoundingClientRect();
            const code = pick(e.clientX - r.left, e.clientY - r.top);
            if (code) props.onSelectJurisdiction(code);
          }
        }}
      />
      <div className="map-controls">
        <button type="button" onClick={() => zoom(1.4)} aria-label={t('map.zoomIn')} title={t('map.zoomIn')}>+</button>
        <button type="button" onClick={() => zoom(1 / 1.4)} aria-label={t('map.zoomOut')} title={t('map.zoomOut')}>−</button>
        <button type="button" onClick={() => setView(undefined)} aria-label={t('map.reset')} title={t('map.reset')}>⤢</button>
      </div>
      <div className="map-legend" aria-label={t('map.legend')}>
        <span><i className="sw sw-case" />{t('map.cases')}</span>
        <span><i className="sw sw-lead" />{t('map.leads')}</span>
        {props.path?.length ? <span><i className="sw sw-path" />{t('map.path')}</span> : null}
        {roadPaths.length ? <span><i className="sw sw-road" />{t('map.roads')}</span> : null}
        {hoverName ? <strong>{hoverName}{hover && (rolled.cases.get(hover) || rolled.leads.get(hover)) ? ` · ${t('map.cases')} ${rolled.cases.get(hover) ?? 0} · ${t('map.leads')} ${rolled.leads.get(hover) ?? 0}` : ''}</strong> : null}
      </div>
    </div>
  );
}
