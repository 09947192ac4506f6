import { describe, expect, it } from "vitest";
import type { EnvironmentView } from "../api/types";
import { applyEnvironmentFact, buildTree, fromViews, possibleBases, withDescendants } from "./environments";

const view = (id: string, name: string, base: string | null): EnvironmentView => ({
  id,
  name,
  base,
  status: "active",
  created_at: 1,
  updated_at: 1,
});

const envs = fromViews([view("p", "production", null), view("s", "staging", "production"), view("d", "dev", "staging"), view("o", "other", null)]);

describe("environments", () => {
  it("draws the hierarchy as a forest", () => {
    const tree = buildTree(envs);
    expect(tree.map((n) => n.env.name)).toEqual(["other", "production"]);
    expect(tree[1]?.children[0]?.env.name).toBe("staging");
    expect(tree[1]?.children[0]?.children[0]?.depth).toBe(2);
  });

  it("keeps children under a renamed base", () => {
    const renamed = applyEnvironmentFact(envs, { fact: "environment", environment_id: "p", name: "prod", base_id: null, status: "active", at: 2 });
    const tree = buildTree(renamed);
    expect(tree.find((n) => n.env.name === "prod")?.children[0]?.env.name).toBe("staging");
  });

  it("offers only bases that make no cycle, and re-runs in descendants", () => {
    expect(possibleBases(envs, "staging").map((e) => e.name)).toEqual(["other", "production"]);
    expect(withDescendants(envs, "staging").map((e) => e.name)).toEqual(["staging", "dev"]);
  });
});
