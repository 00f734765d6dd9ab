/**
 * @module The basemap data every map shares (jurisdiction polygons and roads), loaded once per page.
 */
import { useEffect, useState } from 'react';
import { api } from '../api/endpoints.ts';
import type { FeatureCollection, JurisdictionProps } from '../map/geo.ts';

export interface Basemap { jurisdictions?: FeatureCollection<JurisdictionProps>; roads?: FeatureCollection }

let cache: Promise<Basemap> | undefined;

/** Starts loading the basemap (every role may read it), e.g. while the session is being checked. */
export function loadBasemap(): Promise<Basemap> {
  // Roads are optional: without them the basemap is the jurisdictions alone.
  // A failure (an expired session, say) is not cached: the next view to mount asks again.
  cache ??= Promise.all([api.jurisdictionsGeo(), api.roads().catch(() => undefined)]).then(
    ([jurisdictions, roads]) => (roads?.features.length ? { jurisdictions, roads } : { jurisdictions }),
    () => { cache = undefined; return {}; },
  );
  return cache;
}

export function useBasemap(): Basemap {
  const [data, setData] = useState<Basemap>({});
  useEffect(() => { void loadBasemap().then(setData); }, []);
  return data;
}

/** Jurisdiction name in the current language, by code. */
export function jurisdictionNamer(basemap: Basemap, lang: string): (code: string | null | undefined) => string {
  const byCode = new Map((basemap.jurisdictions?.features ?? []).map((f) => [f.properties.code, f.properties]));
  return (code) => {
    if (!code) return '—';
    const p = byCode.get(code);
    if (!p) return code;
    return lang.startsWith('zh') ? p.name : p.name_en || p.name;
  };
}
