/** Messages in the page: errors, warnings, empty and loading states. */

import type { ComponentChildren } from "preact";
import type { ErrorDetail } from "../api/types";
import { isMissing } from "../live/connection";

export function ErrorNotice({ error, children }: { error?: Error | string | null; children?: ComponentChildren }) {
  if (!error && !children) return null;
  const message = typeof error === "string" ? error : error?.message;
  return (
    <div class="notice error" role="alert">
      {message}
      {children}
    </div>
  );
}

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <div class="empty" role="status" aria-live="polite">
      {label}
    </div>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <div class="empty">{children}</div>;
}

/**
 * The object a page's URL names is not there: "Run R does not exist in project P."
 * A plain notice, not an alarm: the server answered, nothing failed (the header's
 * connection badge stays as it is, `live/connection.ts`).
 */
export function MissingNotice({ what, name, project }: { what: string; name: string; project?: string }) {
  return (
    <div class="notice missing" role="status" data-testid="missing">
      {what} <strong class="mono">{name}</strong> does not exist{project !== undefined && <> in project <strong>{project}</strong></>}.
    </div>
  );
}

/** Why a page's live subscription was refused: what is missing (`MissingNotice`),
 * or the server's reason it could not serve it. */
export function RefusalNotice({ error, what, name, project }: { error: ErrorDetail; what: string; name: string; project?: string }) {
  if (isMissing(error)) return <MissingNotice what={what} name={name} project={project} />;
  return <ErrorNotice error={error.message} />;
}
