/**
 * @module Loading data in a view: the value, the error, and a reload function; a newer load wins over
 * an older one that answers late.
 */
import { useCallback, useEffect, useRef, useState } from 'react';

export interface Async<T> { value: T | undefined; error: Error | undefined; loading: boolean; reload: () => void }

export function useAsync<T>(load: () => Promise<T>, deps: readonly unknown[]): Async<T> {
  const [value, setValue] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const seq = useRef(0);
  const run = useCallback(() => {
    const mine = ++seq.current;
    setLoading(true);
    load().then(
      (v) => { if (mine === seq.current) { setValue(v); setError(undefined); setLoading(false); } },
      (e: unknown) => { if (mine === seq.current) { setError(e instanceof Error ? e : new Error(String(e))); setLoading(false); } },
    );
    // The caller lists what `load` depends on, as with useEffect.
  }, deps);
  useEffect(run, [run]);
  return { value, error, loading, reload: run };
}
