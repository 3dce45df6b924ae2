import { useCallback, useEffect, useRef } from 'react';

/**
 * `fn` at most once per `ms`: the first call runs at once, calls within the window fold into one
 * at its end. That trailing call matters: the last event of a burst (a part ending) must show.
 */
export function useThrottled(fn: () => void, ms: number): () => void {
  const latest = useRef(fn);
  latest.current = fn;
  const state = useRef<{ last: number; timer: ReturnType<typeof setTimeout> | undefined }>({
    last: Number.NEGATIVE_INFINITY,
    timer: undefined,
  });
  useEffect(() => () => clearTimeout(state.current.timer), []);
  return useCallback(() => {
    const s = state.current;
    if (s.timer !== undefined) return;
    const run = () => {
      s.timer = undefined;
      s.last = Date.now();
      latest.current();
    };
    const wait = s.last + ms - Date.now();
    if (wait <= 0) run();
    else s.timer = setTimeout(run, wait);
  }, [ms]);
}
