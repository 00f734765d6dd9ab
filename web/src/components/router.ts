/**
 * @module Hash routing: `#/case/C123` and the like. The server serves one page; the hash keeps links
 * shareable without server-side routes.
 */
import { useEffect, useState } from 'react';

export interface Route { name: string; params: string[]; query: URLSearchParams }

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const [path, q = ''] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { name: parts[0] ?? '', params: parts.slice(1), query: new URLSearchParams(q) };
}

export function href(name: string, ...params: string[]): string {
  return `#/${[name, ...params.map(encodeURIComponent)].join('/')}`;
}

/** A route with a query string: `#/person/REF?case=C1`. */
export function hrefWith(name: string, params: string[], q: Record<string, string>): string {
  return `${href(name, ...params)}?${new URLSearchParams(q).toString()}`;
}

export function navigate(name: string, ...params: string[]): void {
  window.location.hash = href(name, ...params);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(window.location.hash));
  useEffect(() => {
    const on = (): void => setRoute(parseHash(window.location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
