/**
 * A project's environments: first their recent activity (runs of the last day and
 * week by state, failures first, agents connected, the newest failed run), then
 * their hierarchy (each under its base), with create, rename, re-base,
 * pause/resume and archive. Changes arrive back through the project topic, so the
 * tree and the activity update live for every viewer.
 */

import { useState } from "preact/hooks";
import { api } from "../api/http";
import { useLiveActivity } from "../components/activity";
import { ActivityTable } from "../components/ActivityView";
import { Confirm } from "../components/Confirm";
import { Dialog } from "../components/Dialog";
import { Link } from "../components/Link";
import { Empty, ErrorNotice, Loading } from "../components/Notice";
import type { ProjectLive } from "../live/project";
import { useProjectState } from "../live/project";
import { buildTree, type Env, type EnvNode, type Envs, possibleBases } from "../model/environments";
import { formatDateTime } from "../model/format";

export function ProjectPage({ live }: { live: ProjectLive }) {
  const { envs, error } = useProjectState(live);
  const [managing, setManaging] = useState<string | null>(null);
  const managed = managing && envs ? [...envs.values()].find((e) => e.id === managing) : undefined;
  return (
    <main class="page narrow">
      <div class="page-head">
        <h1>{live.project}</h1>
        <span class="muted">Environments</span>
      </div>
      {error && <ErrorNotice error={error.message} />}
      {!envs && !error && <Loading />}
      {envs && envs.size > 0 && <RecentActivity live={live} />}
      {envs && <CreateEnvironment live={live} envs={envs} />}
      {envs && envs.size === 0 && <Empty>No environments yet: create one above (e.g. "production").</Empty>}
      {envs && envs.size > 0 && (
        <div class="card env-tree-card">
          <ul class="env-tree" aria-label="Environments">
            {buildTree(envs).map((node) => (
              <EnvItem key={node.env.id} node={node} envs={envs} project={live.project} onManage={setManaging} />
            ))}
          </ul>
        </div>
      )}
      {managed && envs && <ManageEnvironment live={live} env={managed} envs={envs} onClose={() => setManaging(null)} />}
    </main>
  );
}

// The windows slide and agents drop out without a fact: ask again now and then too.
const ACTIVITY_REFRESH_MS = 30_000;

function RecentActivity({ live }: { live: ProjectLive }) {
  const activity = useLiveActivity(live, ACTIVITY_REFRESH_MS);
  return (
    <section class="section" aria-label="Recent activity">
      {activity.error && !activity.data && !activity.unsupported && <ErrorNotice error={activity.error.message} />}
      {activity.data && <ActivityTable project={live.project} activity={activity.data} />}
    </section>
  );
}

function EnvItem({ node, envs, project, onManage }: { node: EnvNode; envs: Envs; project: string; onManage(id: string): void }) {
  const { env } = node;
  return (
    <li class={`env env-${env.status}`}>
      <div class="env-row">
        <Link to={{ page: "environment", project, environment: env.name }} class="env-name">
          {env.name}
        </Link>
        {env.status !== "active" && <span class={`badge env-status-${env.status}`}>{env.status}</span>}
        <span class="faint env-meta">created {formatDateTime(env.createdAt)}</span>
        <span class="spacer" />
        <button type="button" class="small" onClick={() => onManage(env.id)} aria-label={`Manage ${env.name}`}>
          Manage…
        </button>
      </div>
      {node.children.length > 0 && (
        <ul>
          {node.children.map((child) => (
            <EnvItem key={child.env.id} node={child} envs={envs} project={project} onManage={onManage} />
          ))}
        </ul>
      )}
    </li>
  );
}

function CreateEnvironment({ live, envs }: { live: ProjectLive; envs: Envs }) {
  const [name, setName] = useState("");
  const [base, setBase] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.createEnvironment(live.project, name.trim(), base || null);
      setName("");
      setBase("");
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const bases = [...envs.values()].filter((e) => e.status !== "archived").sort((a, b) => a.name.localeCompare(b.name));
  return (
    <form class="card form-inline" onSubmit={submit} aria-label="Create an environment">
      <div class="field grow">
        <label for="env-name">New environment</label>
        <input
          id="env-name"
          value={name}
          placeholder="e.g. staging"
          autoComplete="off"
          aria-invalid={error ? "true" : undefined}
          onInput={(e) => setName((e.target as HTMLInputElement).value)}
        />
      </div>
      <div class="field">
        <label for="env-base">Base</label>
        <select id="env-base" value={base} onChange={(e) => setBase((e.target as HTMLSelectElement).value)}>
          <option value="">(none)</option>
          {bases.map((e) => (
            <option key={e.id} value={e.name}>
              {e.name}
            </option>
          ))}
        </select>
      </div>
      <button type="submit" class="primary" disabled={busy || name.trim() === ""}>
        Create environment
      </button>
      {error && (
        <p class="field-error full" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

function ManageEnvironment({ live, env, envs, onClose }: { live: ProjectLive; env: Env; envs: Envs; onClose(): void }) {
  const currentBase = env.baseId ? (envs.get(env.baseId)?.name ?? "") : "";
  const [name, setName] = useState(env.name);
  const [base, setBase] = useState(currentBase);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirmArchive, setConfirmArchive] = useState(false);
  const run = async (action: () => Promise<unknown>, close = true) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      if (close) onClose();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const save = (event: Event) => {
    event.preventDefault();
    const change: { name?: string; base?: string | null } = {};
    if (name.trim() !== env.name) change.name = name.trim();
    if (base !== currentBase) change.base = base || null;
    if (Object.keys(change).length === 0) return onClose();
    void run(() => api.updateEnvironment(live.project, env.name, change));
  };
  const bases = possibleBases(envs, env.name);
  return (
    <Dialog title={`Environment ${env.name}`} onClose={onClose}>
      <form onSubmit={save} class="stack">
        <div class="field">
          <label for="manage-name">Name</label>
          <input id="manage-name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="manage-base">Base</label>
          <select id="manage-base" value={base} onChange={(e) => setBase((e.target as HTMLSelectElement).value)}>
            <option value="">(none)</option>
            {bases.map((e) => (
              <option key={e.id} value={e.name}>
                {e.name}
              </option>
            ))}
          </select>
          <span class="field-hint">Inherits cached and memoised results from its base; no cycles.</span>
        </div>
        {error && (
          <p class="field-error" role="alert">
            {error}
          </p>
        )}
        <div class="row">
          <button type="submit" class="primary" disabled={busy || name.trim() === ""}>
            Save
          </button>
          <span class="spacer" />
          {env.status === "paused" ? (
            <button type="button" disabled={busy} onClick={() => run(() => api.setEnvironmentStatus(live.project, env.name, "resume"))}>
              Resume
            </button>
          ) : (
            env.status === "active" && (
              <button type="button" disabled={busy} onClick={() => run(() => api.setEnvironmentStatus(live.project, env.name, "pause"))}>
                Pause
              </button>
            )
          )}
          {env.status !== "archived" && (
            <button type="button" class="danger" disabled={busy} onClick={() => setConfirmArchive(true)}>
              Archive…
            </button>
          )}
        </div>
      </form>
      {confirmArchive && (
        <Confirm
          title="Archive environment?"
          confirmLabel="Yes, archive it"
          declineLabel="No, keep it"
          onDecline={() => setConfirmArchive(false)}
          onConfirm={() => {
            setConfirmArchive(false);
            void run(() => api.setEnvironmentStatus(live.project, env.name, "archive"));
          }}
        >
          <p>
            Archive environment <strong>{env.name}</strong>?
          </p>
          <p class="muted">New runs are refused there and its name is freed for a new environment; its runs stay readable. This cannot be undone.</p>
        </Confirm>
      )}
    </Dialog>
  );
}
