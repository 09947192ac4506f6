/**
 * The shell: header, and the page for the current route (with the sidebar inside an
 * environment); before that, the sign-in screen when the server needs a token.
 */

import { useEffect } from "preact/hooks";
import { Header } from "./components/Header";
import { Link } from "./components/Link";
import { useOverallStatus } from "./live/connection";
import { useProjectLive, useProjectState } from "./live/project";
import { EnvironmentPage } from "./pages/EnvironmentPage";
import { ProjectPage } from "./pages/ProjectPage";
import { ProjectsPage } from "./pages/ProjectsPage";
import { RunPage } from "./pages/RunPage";
import { TargetPage } from "./pages/TargetPage";
import { type Route, useRoute } from "./router";
import { Sidebar } from "./sidebar/Sidebar";
import { ErrorNotice } from "./components/Notice";
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
  return (
    <div class="app">
      <a href="#main" class="skip-link">
        Skip to content
      </a>
      <Header route={route} status={status} identity={identity} onSignOut={() => session.signOut()} />
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
        {route.page !== "projects" && route.page !== "missing" && <ProjectScope route={route} />}
      </div>
    </div>
  );
}

type ProjectRoute = Exclude<Route, { page: "projects" } | { page: "missing" }>;

function ProjectScope({ route }: { route: ProjectRoute }) {
  const live = useProjectLive(route.project);
  const { error } = useProjectState(live);
  if (error) {
    return (
      <main class="page narrow">
        <ErrorNotice error={error.message} />
        <p>
          <Link to={{ page: "projects" }}>Go to the projects</Link>
        </p>
      </main>
    );
  }
  if (route.page === "project") return <ProjectPage live={live} />;
  return (
    <div class="with-sidebar">
      <Sidebar live={live} environment={route.environment} route={route} />
      {route.page === "environment" && <EnvironmentPage live={live} environment={route.environment} />}
      {route.page === "target" && (
        <TargetPage live={live} environment={route.environment} repository={route.repository} target={route.target} />
      )}
      {route.page === "run" && <RunPage live={live} route={route} />}
    </div>
  );
}
