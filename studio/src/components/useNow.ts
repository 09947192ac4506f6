/** The current time (epoch seconds), ticking every second while `active`. */

import { useEffect, useState } from "preact/hooks";

export function useNow(active: boolean, intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now() / 1000);
  useEffect(() => {
    setNow(Date.now() / 1000);
    if (!active) return;
    const timer = setInterval(() => setNow(Date.now() / 1000), intervalMs);
    return () => clearInterval(timer);
  }, [active, intervalMs]);
  return now;
}
