/**
 * The sidebar of an environment: its repositories with their workflows and
 * sensors (parameters, defaults, docstrings), and the agents connected to it.
 * Arrow keys move between entries; Left/Right fold a repository.
 *
 * On a narrow screen it is a drawer over the page (`open`, from the header's menu
 * button): opening it moves focus into it, Escape or a tap beside it closes it and
 * hands focus back to the menu button.
 */

import { useEffect, useRef, useState } from "preact/hooks";
import type { AgentView, Manifest, Parameter, TargetDefinition } from "../api/types";
import { Link } from "../components/Link";
import { useAgents, useManifests } from "../live/data";
import type { ProjectLive } from "../live/project";
import { useProjectState } from "../live/project";
import { flatten, buildTree } from "../model/environments";
import { runIdOf, stepNumberOf } from "../model/ids";
import { href, navigate, type Route } from "../router";
import { navKeyDown } from "./keyboard";

export function signature(parameters: Parameter[] | undefined): string {
  return (parameters ?? [])
    .map((p) => {
      const name = p.kind === "var_positional" ? `*${p.name}` : p.name;
      return p.default != null ? `${name}=${p.default}` : name;
    })
    .join(", ");
}

function firstLine(text: string | null | undefined): string {
  return (text ?? "").trim().split("\n")[0] ?? "";
}

interface Props {
  live: ProjectLive;
  environment: string;
  route: Route;
}

function focusMenuButton(): void {
  document.querySelector<HTMLElement>(".menu-button")?.focus();
}

export function Sidebar({ live, environment, route, open = false, onClose }: Props & { open?: boolean; onClose?: () => void }) {
  const ref = useRef<HTMLElement>(null);
  useEffect(() => {
    if (open) ref.current?.querySelector<HTMLElement>("select, a, button")?.focus();
  }, [open]);
  const close = () => {
    onClose?.();
    focusMenuButton();
  };
  return (
    <>
      <aside
        id="sidebar"
        ref={ref}
        class={`sidebar${open ? " open" : ""}`}
        aria-label="Environment"
        onKeyDown={(e) => {
          if (e.key === "Escape" && open) close();
        }}
      >
        <EnvironmentSwitcher live={live} environment={environment} />
        <nav class="sidebar-scroll" aria-label="Workflows and agents" onKeyDown={navKeyDown}>
          <Targets live={live} environment={environment} route={route} />
          <Agents live={live} environment={environment} />
        </nav>
      </aside>
      {open && <div class="sidebar-backdrop" aria-hidden="true" onClick={close} />}
    </>
  );
}

function EnvironmentSwitcher({ live, environment }: { live: ProjectLive; environment: string }) {
  const { envs } = useProjectState(live);
  const nodes = envs ? flatten(buildTree(envs)).filter((n) => n.env.status !== "archived" || n.env.name === environment) : [];
  return (
    <div class="sidebar-env">
      <label for="env-switch" class="sidebar-label">
        Environment
      </label>
      <select
        id="env-switch"
        value={environment}
        onChange={(e) =>
          navigate(href({ page: "environment", project: live.project, environment: (e.target as HTMLSelectElement).value }))
        }
      >
        {nodes.length === 0 && <option value={environment}>{environment}</option>}
        {nodes.map((n) => (
          <option key={n.env.id} value={n.env.name}>
            {"\u00a0\u00a0".repeat(n.depth) + n.env.name}
            {n.env.status !== "active" ? ` (${n.env.status})` : ""}
          </option>
        ))}
      </select>
    </div>
  );
}

function Targets({ live, environment, route }: Props) {
  const { data, error } = useManifests(live, environment);
  const [folded, setFolded] = useState<Set<string>>(new Set());
  const toggle = (repository: string, fold: boolean) => {
    const next = new Set(folded);
    if (fold) next.add(repository);
    else next.delete(repository);
    setFolded(next);
  };
  return (
    <section class="sidebar-section" aria-labelledby="sidebar-workflows">
      <h3 id="sidebar-workflows">Workflows</h3>
      {error && <p class="field-error">{error.message}</p>}
      {data === undefined && !error && <p class="faint sidebar-note">Loading…</p>}
      {data?.length === 0 && (
        <p class="faint sidebar-note">
          Nothing registered. Start an agent with <code>--register</code> (or run <code>coflux register</code>).
        </p>
      )}
      <ul class="tree" role="list">
        {data?.map((manifest) => (
          <Repository
            key={manifest.repository}
            manifest={manifest}
            folded={folded.has(manifest.repository)}
            onFold={(fold) => toggle(manifest.repository, fold)}
            project={live.project}
            environment={environment}
            route={route}
          />
        ))}
      </ul>
    </section>
  );
}

function Repository(props: {
  manifest: Manifest;
  folded: boolean;
  onFold(fold: boolean): void;
  project: string;
  environment: string;
  route: Route;
}) {
  const { manifest, folded, onFold } = props;
  const targets = (manifest.targets ?? []).filter((t) => t.type !== "task");
  const tasks = (manifest.targets ?? []).length - targets.length;
  return (
    <li class="tree-repo">
      <button
        type="button"
        class="tree-toggle"
        data-nav
        aria-expanded={!folded}
        onClick={() => onFold(!folded)}
        onKeyDown={(e) => {
          if (e.key === "ArrowLeft" && !folded) onFold(true);
          else if (e.key === "ArrowRight" && folded) onFold(false);
        }}
      >
        <span class="tree-caret" aria-hidden="true">
          {folded ? "▸" : "▾"}
        </span>
        <span class="mono">{manifest.repository}</span>
        <span class="faint tree-count">{targets.length}</span>
      </button>
      {!folded && (
        <ul role="list">
          {targets.map((target) => (
            <TargetItem key={target.name} target={target} {...props} />
          ))}
          {tasks > 0 && <li class="faint tree-note">+ {tasks} task{tasks === 1 ? "" : "s"}</li>}
        </ul>
      )}
    </li>
  );
}

function TargetItem({
  target,
  manifest,
  project,
  environment,
  route,
  onFold,
}: {
  target: TargetDefinition;
  manifest: Manifest;
  project: string;
  environment: string;
  route: Route;
  onFold(fold: boolean): void;
}) {
  const to: Route = {
    page: "target",
    project,
    environment,
    kind: target.type === "sensor" ? "sensor" : "workflow",
    repository: manifest.repository,
    target: target.name,
  };
  const current = route.page === "target" && route.repository === manifest.repository && route.target === target.name;
  const doc = firstLine(target.docstring);
  return (
    <li>
      <Link
        to={to}
        class={`tree-item${current ? " current" : ""}`}
        data-nav
        aria-current={current ? "page" : undefined}
        title={target.docstring ?? undefined}
        onKeyDown={(e) => {
          if (e.key === "ArrowLeft") {
            e.preventDefault();
            onFold(true);
            const repo = (e.currentTarget as HTMLElement).closest(".tree-repo")?.querySelector<HTMLElement>(".tree-toggle");
            requestAnimationFrame(() => repo?.focus());
          }
        }}
      >
        <span class="tree-item-head">
          <span class="tree-item-name">{target.name}</span>
          {target.type === "sensor" && <span class="tag">sensor</span>}
        </span>
        <span class="tree-item-sig mono">({signature(target.parameters)})</span>
        {doc && <span class="tree-item-doc">{doc}</span>}
      </Link>
    </li>
  );
}

function Agents({ live, environment }: { live: ProjectLive; environment: string }) {
  const { data, error } = useAgents(live, environment);
  return (
    <section class="sidebar-section" aria-labelledby="sidebar-agents">
      <h3 id="sidebar-agents">
        Agents {data && <span class="faint">({data.filter((a) => a.connected).length})</span>}
      </h3>
      {error && <p class="field-error">{error.message}</p>}
      {data?.length === 0 && <p class="faint sidebar-note">No agent connected.</p>}
      <ul class="agents" role="list">
        {data?.map((agent) => <AgentItem key={agent.session_id} agent={agent} live={live} environment={environment} />)}
      </ul>
    </section>
  );
}

function AgentItem({ agent, live, environment }: { agent: AgentView; live: ProjectLive; environment: string }) {
  const tags = Object.entries(agent.provides);
  return (
    <li class="agent" data-nav tabIndex={-1} aria-label={`Agent ${agent.session_id}`}>
      <div class="row">
        <span class={`agent-dot ${agent.connected ? "on" : "off"}`} aria-hidden="true" />
        <span class="mono agent-id">{agent.session_id.slice(0, 8)}</span>
        <span class="spacer" />
        <span class="faint" title="running / concurrency">
          {agent.executions.length}/{agent.concurrency} running
        </span>
      </div>
      {!agent.connected && <div class="faint agent-line">disconnected</div>}
      {tags.length > 0 && (
        <div class="row wrap agent-line">
          {tags.map(([key, values]) => (
            <span class="tag" key={key}>
              {key}={values.join(",")}
            </span>
          ))}
        </div>
      )}
      {agent.executions.length > 0 && (
        <ul class="agent-executions" role="list">
          {agent.executions.slice(0, 8).map((id) => {
            return (
              <li key={id}>
                <Link
                  class="mono"
                  to={{ page: "run", project: live.project, environment, run: runIdOf(id), step: stepNumberOf(id), view: "graph" }}
                >
                  {id}
                </Link>
              </li>
            );
          })}
          {agent.executions.length > 8 && <li class="faint">+ {agent.executions.length - 8} more</li>}
        </ul>
      )}
    </li>
  );
}
