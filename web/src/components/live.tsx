/**
 * @module Live updates for a view: subscribe to the server's event stream and call `refresh` (batched,
 * so a burst of events costs one reload).
 */
import { useEffect, useRef, useState } from 'react';
import { subscribe } from '../api/client.ts';

export function useLive(refresh: () => void, filter?: (type: string) => boolean): boolean {
  const [live, setLive] = useState(false);
  const refreshRef = useRef(refresh);
  refreshRef.current = refresh;
  const filterRef = useRef(filter);
  filterRef.current = filter;
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = subscribe('/api/events', (e) => {
      if (filterRef.current && !filterRef.current(e.type)) return;
      if (timer) return;
      timer = setTimeout(() => { timer = undefined; refreshRef.current(); }, 250);
    }, setLive);
    return () => { stop(); if (timer) clearTimeout(timer); };
  }, []);
  return live;
}

export function LiveBadge({ live, labels }: { live: boolean; labels: { live: string; offline: string } }): React.JSX.Element {
  return <span className={live ? 'badge live' : 'badge offline'} role="status">{live ? labels.live : labels.offline}</span>;
}
