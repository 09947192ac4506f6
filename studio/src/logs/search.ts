/**
 * Searching a run's logs on the server: the lines a filter keeps, from the whole
 * run's stored logs (the server pages through them; `q` and `level` on the logs
 * route), not only the lines this page has loaded. Lines that arrive later come
 * live and are filtered here (`model/logs.ts` `keepsLine`), so the search stays
 * current without asking again.
 */

import { useEffect, useState } from "preact/hooks";
import { api } from "../api/http";
import { isFiltering, type LogFilter, type LogLine, toLine } from "../model/logs";

/** Matches shown at most: past this many, the view says there are more. */
export const SEARCH_CAP = 5000;
/** Typing settles this long before the server is asked. */
const SETTLE_MS = 250;

export interface LogSearch {
  lines: LogLine[];
  loading: boolean;
  /** More lines match than `SEARCH_CAP`. */
  capped: boolean;
  error: string | null;
}

const IDLE: LogSearch = { lines: [], loading: false, capped: false, error: null };

export function useLogSearch(project: string, runId: string, filter: LogFilter): LogSearch {
  const [found, setFound] = useState<LogSearch>(IDLE);
  const active = isFiltering(filter);
  const text = filter.text.trim();
  useEffect(() => {
    if (!active) {
      setFound(IDLE);
      return;
    }
    const aborter = new AbortController();
    setFound((previous) => ({ ...previous, loading: true, error: null }));
    const timer = setTimeout(async () => {
      const lines: LogLine[] = [];
      let cursor = 0;
      let ended = false;
      try {
        // A page may keep nothing and still move on (the server reads a bounded
        // stretch per request): the end is where the cursor stops moving.
        while (lines.length < SEARCH_CAP) {
          const page = await api.getLogs(project, runId, cursor, aborter.signal, {
            ...(text ? { q: text } : {}),
            ...(filter.minimum !== "debug" ? { level: filter.minimum } : {}),
          });
          lines.push(...page.logs.map(toLine));
          if (page.cursor === cursor) {
            ended = true;
            break;
          }
          cursor = page.cursor;
        }
        setFound({ lines: lines.slice(0, SEARCH_CAP), loading: false, capped: !ended, error: null });
      } catch (e) {
        if (aborter.signal.aborted) return;
        setFound({ lines, loading: false, capped: false, error: (e as Error).message });
      }
    }, SETTLE_MS);
    return () => {
      clearTimeout(timer);
      aborter.abort();
    };
  }, [project, runId, active, text, filter.minimum]);
  return found;
}
