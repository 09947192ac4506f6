/**
 * A project's environments: the list from the API or the project topic's snapshot,
 * kept current with `environment` facts, and the hierarchy drawn from it.
 *
 * Views name an environment's base by name and facts by id; the model keeps ids,
 * so a rename needs no fix-up of the environments based on it.
 */

import type { EnvironmentFact, EnvironmentStatus, EnvironmentView } from "../api/types";

export interface Env {
  id: string;
  name: string;
  baseId: string | null;
  status: EnvironmentStatus;
  createdAt: number;
  updatedAt: number;
}

export type Envs = ReadonlyMap<string, Env>;

export function fromViews(views: EnvironmentView[]): Map<string, Env> {
  const idByName = new Map(views.map((v) => [v.name, v.id]));
  return new Map(
    views.map((v) => [
      v.id,
      {
        id: v.id,
        name: v.name,
        baseId: v.base === null ? null : (idByName.get(v.base) ?? null),
        status: v.status,
        createdAt: v.created_at,
        updatedAt: v.updated_at,
      },
    ]),
  );
}

/** A new map with the fact applied (environments are few; copying is cheap). */
export function applyEnvironmentFact(envs: Envs, fact: EnvironmentFact): Map<string, Env> {
  const next = new Map(envs);
  const previous = envs.get(fact.environment_id);
  next.set(fact.environment_id, {
    id: fact.environment_id,
    name: fact.name,
    baseId: fact.base_id,
    status: fact.status,
    createdAt: previous?.createdAt ?? fact.at,
    updatedAt: fact.at,
  });
  return next;
}

export function byName(envs: Envs, name: string): Env | undefined {
  for (const env of envs.values()) if (env.name === name) return env;
  return undefined;
}

export interface EnvNode {
  env: Env;
  depth: number;
  children: EnvNode[];
}

/** The hierarchy as a forest, children sorted by name. */
export function buildTree(envs: Envs): EnvNode[] {
  const nodes = new Map<string, EnvNode>();
  for (const env of envs.values()) nodes.set(env.id, { env, depth: 0, children: [] });
  const roots: EnvNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.env.baseId ? nodes.get(node.env.baseId) : undefined;
    if (parent && !isAncestor(envs, node.env.id, parent.env.id)) parent.children.push(node);
    else roots.push(node);
  }
  const sortAndDepth = (list: EnvNode[], depth: number) => {
    list.sort((a, b) => a.env.name.localeCompare(b.env.name));
    for (const node of list) {
      node.depth = depth;
      sortAndDepth(node.children, depth + 1);
    }
  };
  sortAndDepth(roots, 0);
  return roots;
}

/** Whether `ancestorId` is `id` or one of its bases (guarding against cycles). */
export function isAncestor(envs: Envs, ancestorId: string, id: string): boolean {
  const seen = new Set<string>();
  let current: string | null = id;
  while (current !== null && !seen.has(current)) {
    if (current === ancestorId) return true;
    seen.add(current);
    current = envs.get(current)?.baseId ?? null;
  }
  return false;
}

/** The environment and every environment based on it, directly or not. */
export function withDescendants(envs: Envs, name: string): Env[] {
  const root = byName(envs, name);
  if (!root) return [];
  return [...envs.values()]
    .filter((env) => env.status !== "archived" && isAncestor(envs, root.id, env.id))
    .sort((a, b) => (a.id === root.id ? -1 : b.id === root.id ? 1 : a.name.localeCompare(b.name)));
}

/** Environments that may become `name`'s base: not itself nor a descendant (no cycles). */
export function possibleBases(envs: Envs, name: string): Env[] {
  const env = byName(envs, name);
  return [...envs.values()]
    .filter((other) => other.status !== "archived" && (!env || !isAncestor(envs, env.id, other.id)))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function flatten(tree: EnvNode[]): EnvNode[] {
  const out: EnvNode[] = [];
  const walk = (nodes: EnvNode[]) => {
    for (const node of nodes) {
      out.push(node);
      walk(node.children);
    }
  };
  walk(tree);
  return out;
}
