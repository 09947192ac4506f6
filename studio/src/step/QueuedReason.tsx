/**
 * Why a queued step waits (no agent hosts its target, none provides a tag it
 * requires, every agent that could run it is full, its environment is paused).
 * The reason is not a fact the live topic sends: it starts from the snapshot's
 * and, while the panel shows a queued execution, is read again from the run's
 * outline every few seconds.
 */

import { useEffect, useState } from "preact/hooks";
import { api } from "../api/http";
import type { Execution } from "../model/run";

const REFRESH_MS = 3000;

interface Props {
  project: string;
  runId: string;
  execution: Execution;
}

export function QueuedReason({ project, runId, execution }: Props) {
  const queued = execution.state === "queued";
  const [reason, setReason] = useState<string | null>(execution.queuedReason ?? null);
  useEffect(() => {
    setReason(execution.queuedReason ?? null);
    if (!queued) return;
    const abort = new AbortController();
    const read = () => {
      api.getRunOutline(project, runId, abort.signal).then(
        (outline) => {
          const found = outline.steps
            .find((s) => s.id === execution.stepId)
            ?.executions.find((e) => e.id === execution.id);
          if (found) setReason(found.queued_reason ?? null);
        },
        () => undefined, // shown as it was; the next read may succeed
      );
    };
    read();
    const timer = setInterval(read, REFRESH_MS);
    return () => {
      clearInterval(timer);
      abort.abort();
    };
  }, [project, runId, execution.id, execution.stepId, queued, execution.queuedReason]);
  if (!queued) return null;
  return (
    <p class="muted" data-testid="queued-reason">
      {reason ? (
        <>
          <strong>Queued:</strong> {reason}.
        </>
      ) : (
        "Queued: about to be assigned."
      )}
    </p>
  );
}
