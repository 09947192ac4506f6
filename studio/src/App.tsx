/**
 * The shell: header, and the page for the current route (with the sidebar inside an
 * environment); before that, the sign-in screen when the server needs a token.
 *
 * On a narrow screen the sidebar folds away behind the header's menu button; it
 * folds again on every navigation, so choosing a workflow shows that workflow.
 */

import { useEffect, useState } from "preact/hooks";
import { Header } from "./components/Header";
import { Link } from "./components/Link";
import { useOverallStatus } from "./live/connection";
import { useProjectLive, useProjectState } from "./live/project";
import { EnvironmentPage } from "./pages/EnvironmentPage";
import { ProjectPage } from "./pages/ProjectPage";
import { ProjectsPage } from "./pages/ProjectsPage";
import { RunPage } from "./pages/RunPage";
import { TargetPage } from "./pages/TargetPage";
import { href, type Route, useRoute } from "./router";
import { Sidebar } from "./sidebar/Sidebar";
import { ErrorNotice, RefusalNotice } from "./components/Notice";
import { type Identity, session, useSession } from "./signin/session";
import { Checking, SignIn, Unreachable } from "./signin/SignIn";

export function App() {
  const state = useSession();
  useEffect(() => {
    void session.start();
  }, []);
  if (state.phase === "open") return <Shell identity={null} />;
  if (state.phase === "signed-in") return <Shell identity={state.identity} />;
  return (
    <div class="app">
      <Header route={null} status={null} />
      <div class="app-body" id="main">
        {state.phase === "checking" && <Checking />}
        {state.phase === "unreachable" && <Unreachable message={state.message} onRetry={() => void session.start()} />}
        {state.phase === "signed-out" && (
          <SignIn error={state.error} busy={state.busy} onSignIn={(token) => void session.signIn(token)} />
        )}
      </div>
    </div>
  );
}

function Shell({ identity }: { identity: Identity | null }) {
  const route = useRoute();
  const status = useOverallStatus();
  const [menuOpen, setMenuOpen] = useState(false);
  const place = href(route);
  useEffect(() => setMenuOpen(false), [place]);
  const menu = "environment" in route ? { open: menuOpen, onToggle: () => setMenuOpen(!menuOpen) } : undefined;
  return (
    <div class="app">
      <a href="#main" class="skip-link">
        Skip to content
      </a>
      <Header route={route} status={status} identity={identity} onSignOut={() => session.signOut()} menu={menu} />
      <div class="app-body" id="main">
        {route.page === "projects" && <ProjectsPage />}
        {route.page === "missing" && (
          <main class="page narrow">
            <ErrorNotice error={`Nothing here: ${route.path}`} />
            <p>
              <Link to={{ page: "projects" }}>Go to the projects</Link>
            </p>
          </main>
        )}
        {route.page !== "projects" && route.page !== "missing" && (
          <ProjectScope route={route} menuOpen={menuOpen} onMenuClose={() => setMenuOpen(false)} />
        )}
      </div>
    </div>
  );
}

type ProjectRoute = Exclude<Route, { page: "projects" } | { page: "missing" }>;

function ProjectScope({ route, menuOpen, onMenuClose }: { route: ProjectRoute; menuOpen: boolean; onMenuClose(): void }) {
  const live = useProjectLive(route.project);
  const { error } = useProjectState(live);
  if (error) {
    return (
      <main class="page narrow">
        <RefusalNotice error={error} what="Project" name={route.project} />
        <p>
          <Link to={{ page: "projects" }}>Go to the projects</Link>
        </p>
      </main>
    );
  }
  if (route.page === "project") return <ProjectPage live={live} />;
  return (
    <div class="with-sidebar">
      <Sidebar live={live} environment={route.environment} route={route} open={menuOpen} onClose={onMenuClose} />
      {route.page === "environment" && <EnvironmentPage live={live} environment={route.environment} />}
      {route.page === "target" && (
        <TargetPage live={live} environment={route.environment} repository={route.repository} target={route.target} />
      )}
      {route.page === "run" && <RunPage live={live} route={route} />}
    </div>
  );
}
