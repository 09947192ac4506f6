/** Messages in the page: errors, warnings, empty and loading states. */

import type { ComponentChildren } from "preact";

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
