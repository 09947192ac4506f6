/**
 * Deep links: every screen has a URL, parsed into a `Route` and built back from
 * one. The server answers every path outside /api and /blobs with index.html, so
 * any of these URLs opens Studio directly on that screen.
 *
 *   /                                                    projects
 *   /projects/P                                          environments of P
 *   /projects/P/environments/E[?FILTERS]                 environment E, its runs filtered
 *   /projects/P/environments/E/workflows/REPO/TARGET[?FILTERS]  a workflow (or /sensors/...)
 *   /projects/P/environments/E/runs/RUN[?view=V]         a run (V: graph|timeline|logs)
 *   /projects/P/environments/E/runs/RUN/steps/N[?view=V] a run with step RUN:N open
 *   /projects/P/environments/E/runs/RUN/steps/N?attempt=A  ... showing its attempt A
 *
 * FILTERS: which runs the page's list shows (`model/runs.ts`, `parseFilters`), e.g.
 * `?state=failed&state=timed_out&q=order-7&order=oldest`, so a link reproduces it
 * (a route without `runs` shows them unfiltered).
 */

import { useEffect, useState } from "preact/hooks";
import { filtersQuery, NO_FILTERS, parseFilters, type RunFilters } from "./model/runs";

export type RunView = "graph" | "timeline" | "logs";

export type Route =
  | { page: "projects" }
  | { page: "project"; project: string }
  | { page: "environment"; project: string; environment: string; runs?: RunFilters }
  | { page: "target"; project: string; environment: string; kind: "workflow" | "sensor"; repository: string; target: string; runs?: RunFilters }
  | {
      page: "run";
      project: string;
      environment: string;
      run: string;
      step: number | null;
      view: RunView;
      /** The open step's attempt shown in its panel (absent or null: its latest). */
      attempt?: number | null;
    }
  | { page: "missing"; path: string };

const VIEWS: RunView[] = ["graph", "timeline", "logs"];

export function parseRoute(pathname: string, search = ""): Route {
  const parts = pathname.split("/").filter(Boolean).map(decodeURIComponent);
  const query = new URLSearchParams(search);
  const view = query.get("view");
  const runView: RunView = VIEWS.includes(view as RunView) ? (view as RunView) : "graph";
  if (parts.length === 0) return { page: "projects" };
  const [head, project, envWord, environment, kind, a, b, c, d] = parts;
  if (head !== "projects" || project === undefined) return { page: "missing", path: pathname };
  if (parts.length === 2) return { page: "project", project };
  if (envWord !== "environments" || environment === undefined) return { page: "missing", path: pathname };
  if (parts.length === 4) return { page: "environment", project, environment, runs: parseFilters(query) };
  if ((kind === "workflows" || kind === "sensors") && a !== undefined && b !== undefined && parts.length === 7) {
    // A workflow's own list names its workflow already.
    const runs = { ...parseFilters(query), workflow: null };
    return { page: "target", project, environment, kind: kind === "workflows" ? "workflow" : "sensor", repository: a, target: b, runs };
  }
  if (kind === "runs" && a !== undefined) {
    if (parts.length === 6) return { page: "run", project, environment, run: a, step: null, view: runView };
    if (parts.length === 8 && b === "steps" && c !== undefined && /^\d+$/.test(c) && d === undefined) {
      const attempt = query.get("attempt");
      const chosen = attempt !== null && /^[1-9]\d*$/.test(attempt) ? { attempt: Number(attempt) } : {};
      return { page: "run", project, environment, run: a, step: Number(c), view: runView, ...chosen };
    }
  }
  return { page: "missing", path: pathname };
}

const enc = encodeURIComponent;

export function href(route: Route): string {
  switch (route.page) {
    case "projects":
      return "/";
    case "project":
      return `/projects/${enc(route.project)}`;
    case "environment":
      return `${environmentPath(route.project, route.environment)}${filtersQuery(route.runs ?? NO_FILTERS)}`;
    case "target":
      return `${environmentPath(route.project, route.environment)}/${route.kind}s/${enc(route.repository)}/${enc(route.target)}${filtersQuery({ ...(route.runs ?? NO_FILTERS), workflow: null })}`;
    case "run": {
      const base = `${environmentPath(route.project, route.environment)}/runs/${enc(route.run)}`;
      const path = route.step === null ? base : `${base}/steps/${route.step}`;
      const query = new URLSearchParams();
      if (route.view !== "graph") query.set("view", route.view);
      if (route.step !== null && route.attempt) query.set("attempt", String(route.attempt));
      const search = query.toString();
      return search ? `${path}?${search}` : path;
    }
    case "missing":
      return route.path;
  }
}

function environmentPath(project: string, environment: string): string {
  return `/projects/${enc(project)}/environments/${enc(environment)}`;
}

const listeners = new Set<() => void>();

export function currentRoute(): Route {
  return parseRoute(location.pathname, location.search);
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === location.pathname + location.search) return;
  if (options.replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  for (const listener of listeners) listener();
}

if (typeof window !== "undefined") {
  window.addEventListener("popstate", () => {
    for (const listener of listeners) listener();
  });
}

export function useRoute(): Route {
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const update = () => setRoute(currentRoute());
    listeners.add(update);
    return () => {
      listeners.delete(update);
    };
  }, []);
  return route;
}

/** Click handler for in-app links: plain left clicks navigate without a reload. */
export function onLinkClick(event: MouseEvent): void {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const anchor = (event.currentTarget as HTMLElement).closest("a");
  const target = anchor?.getAttribute("href");
  if (!anchor || !target || anchor.target === "_blank" || anchor.hasAttribute("download")) return;
  event.preventDefault();
  navigate(target);
}
