/**
 * The projects of this server, each with its environments' recent activity (runs
 * of the last day by state, failures first, agents connected, a link to the newest
 * failed run: `components/ActivityView.tsx`); and a form to create one.
 */

import { useState } from "preact/hooks";
import { api } from "../api/http";
import type { ProjectInfo } from "../api/types";
import { useActivity } from "../components/activity";
import { CompactActivity } from "../components/ActivityView";
import { Link } from "../components/Link";
import { Empty, ErrorNotice, Loading } from "../components/Notice";
import { useAsync } from "../components/useAsync";
import { formatDateTime } from "../model/format";
import { href, navigate } from "../router";

export function ProjectsPage() {
  const projects = useAsync(() => api.listProjects(), []);
  return (
    <main class="page narrow">
      <div class="page-head">
        <h1>Projects</h1>
      </div>
      <CreateProject />
      {projects.error && <ErrorNotice error={projects.error} />}
      {projects.loading && !projects.data && <Loading />}
      {projects.data?.length === 0 && <Empty>No projects yet: create one above.</Empty>}
      {projects.data && projects.data.length > 0 && (
        <div class="card">
          <table class="data" aria-label="Projects">
            <thead>
              <tr>
                <th>Name</th>
                <th>Id</th>
                <th>Created</th>
                <th>Status</th>
                <th>Last 24 hours</th>
              </tr>
            </thead>
            <tbody>
              {projects.data.map((p) => (
                <ProjectRow key={p.id} project={p} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </main>
  );
}

// How often the front page asks again: it follows no live topic (one per project
// would be a socket each), and the counts change by the minute, not the second.
const REFRESH_MS = 10_000;

/** One project; an unavailable one says why, and is not a link (its pages would only fail). */
function ProjectRow({ project: p }: { project: ProjectInfo }) {
  const unavailable = p.status === "unavailable";
  return (
    <tr data-project={p.id} data-status={p.status ?? "ok"}>
      <td>{unavailable ? p.name : <Link to={{ page: "project", project: p.name }}>{p.name}</Link>}</td>
      <td class="mono faint">{p.id}</td>
      <td class="muted">{formatDateTime(p.created_at)}</td>
      <td>
        {unavailable ? (
          <>
            <span class="badge state-failed" title={p.error ?? undefined}>
              unavailable
            </span>
            {p.error && <div class="muted">{p.error}</div>}
          </>
        ) : (
          <span class="muted">ok</span>
        )}
      </td>
      <td class="activity-cell" data-activity={unavailable ? undefined : p.id}>
        {!unavailable && <ProjectActivityLines project={p.name} />}
      </td>
    </tr>
  );
}

function ProjectActivityLines({ project }: { project: string }) {
  const activity = useActivity(project, REFRESH_MS);
  if (activity.data) return <CompactActivity project={project} activity={activity.data} />;
  if (activity.unsupported) return null;
  if (activity.error) return <span class="faint">Activity could not be read: {activity.error.message}</span>;
  return <span class="faint">Loading activity…</span>;
}

function CreateProject() {
  const [name, setName] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const project = await api.createProject(name.trim());
      navigate(href({ page: "project", project: project.name }));
    } catch (e) {
      setError((e as Error).message);
      setBusy(false);
    }
  };
  return (
    <form class="card form-inline" onSubmit={submit} aria-label="Create a project">
      <div class="field grow">
        <label for="project-name">New project</label>
        <input
          id="project-name"
          value={name}
          placeholder="e.g. analytics"
          autoComplete="off"
          aria-invalid={error ? "true" : undefined}
          aria-describedby={error ? "project-error" : undefined}
          onInput={(e) => setName((e.target as HTMLInputElement).value)}
        />
      </div>
      <button type="submit" class="primary" disabled={busy || name.trim() === ""}>
        Create project
      </button>
      {error && (
        <p id="project-error" class="field-error full" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
