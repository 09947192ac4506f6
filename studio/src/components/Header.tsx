/** The top bar: breadcrumbs of the current route, connection state, who is signed in, theme. */

import { useState } from "preact/hooks";
import type { ConnectionStatus } from "../api/live";
import type { Route } from "../router";
import { describeIdentity, type Identity } from "../signin/session";
import { setTheme, storedTheme, type Theme } from "../theme";
import { Link } from "./Link";

const STATUS_TEXT: Record<ConnectionStatus, string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Connection lost — reconnecting…",
  ended: "Live",
  failed: "Not live",
};

export function ConnectionIndicator({ status }: { status: ConnectionStatus | null }) {
  if (status === null) return null;
  return (
    <div class={`connection connection-${status}`} role="status" aria-live="polite" data-status={status}>
      <span class="connection-dot" aria-hidden="true" />
      <span class="connection-text">{STATUS_TEXT[status]}</span>
    </div>
  );
}

const NEXT: Record<Theme, Theme> = { system: "light", light: "dark", dark: "system" };
const THEME_LABEL: Record<Theme, string> = { system: "Theme: system", light: "Theme: light", dark: "Theme: dark" };
const THEME_GLYPH: Record<Theme, string> = { system: "◐", light: "☀", dark: "☾" };

function ThemeToggle() {
  const [theme, set] = useState<Theme>(storedTheme);
  return (
    <button
      type="button"
      class="icon ghost header-button"
      aria-label={`${THEME_LABEL[theme]} (change)`}
      title={THEME_LABEL[theme]}
      onClick={() => {
        const next = NEXT[theme];
        setTheme(next);
        set(next);
      }}
    >
      {THEME_GLYPH[theme]}
    </button>
  );
}

function Crumbs({ route }: { route: Route }) {
  const crumbs: Array<{ label: string; to: Route }> = [];
  if (route.page !== "projects" && route.page !== "missing") {
    crumbs.push({ label: route.project, to: { page: "project", project: route.project } });
    if (route.page !== "project") {
      crumbs.push({
        label: route.environment,
        to: { page: "environment", project: route.project, environment: route.environment },
      });
    }
    if (route.page === "target") crumbs.push({ label: `${route.repository} / ${route.target}`, to: route });
    if (route.page === "run") crumbs.push({ label: `run ${route.run}`, to: { ...route, step: null, view: "graph" } });
  }
  return (
    <nav aria-label="Breadcrumb" class="crumbs">
      <ol>
        <li>
          <Link to={{ page: "projects" }}>Projects</Link>
        </li>
        {crumbs.map((c, i) => (
          <li key={i}>
            <span class="crumb-sep" aria-hidden="true">
              /
            </span>
            <Link to={c.to} aria-current={i === crumbs.length - 1 ? "page" : undefined}>
              {c.label}
            </Link>
          </li>
        ))}
      </ol>
    </nav>
  );
}

/** Who is signed in, and a way out (only on a server that needs tokens). */
function SignedIn({ identity, onSignOut }: { identity: Identity; onSignOut: () => void }) {
  const who = describeIdentity(identity);
  return (
    <div class="signed-in">
      <span class="signed-in-who" title={`Signed in as ${who}`} data-testid="signed-in">
        {who}
      </span>
      <button type="button" class="small ghost" onClick={onSignOut}>
        Sign out
      </button>
    </div>
  );
}

/** Opens and closes the sidebar where the screen is too narrow to show it beside
 * the page (the button is hidden elsewhere, `layout.css`). */
export interface SidebarMenu {
  open: boolean;
  onToggle(): void;
}

export function Header({
  route,
  status,
  identity = null,
  onSignOut,
  menu,
}: {
  route: Route | null;
  status: ConnectionStatus | null;
  identity?: Identity | null;
  onSignOut?: () => void;
  menu?: SidebarMenu | undefined;
}) {
  return (
    <header class="app-header">
      {menu && (
        <button
          type="button"
          class="icon ghost header-button menu-button"
          aria-label={menu.open ? "Close the sidebar" : "Open the sidebar"}
          aria-expanded={menu.open}
          aria-controls="sidebar"
          onClick={menu.onToggle}
        >
          ☰
        </button>
      )}
      <Link to={{ page: "projects" }} class="brand" aria-label="Coflux Studio home">
        <span class="brand-mark" aria-hidden="true">
          ◆
        </span>
        Coflux <span class="brand-sub">Studio</span>
      </Link>
      {route && <Crumbs route={route} />}
      <div class="spacer" />
      <ConnectionIndicator status={status} />
      {identity && onSignOut && <SignedIn identity={identity} onSignOut={onSignOut} />}
      <ThemeToggle />
    </header>
  );
}
