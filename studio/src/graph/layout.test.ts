import { describe, expect, it } from "vitest";
import { fromSnapshot } from "../model/run";
import { groupKeyOf } from "../model/groups";
import { fanOut, groupRun, inGroup, RUN, run, step, value } from "../test/fixtures";
import {
  callPaths,
  clippedPath,
  COL_GAP,
  dependencyEdgesInView,
  GROUP_HEAD,
  GROUP_THRESHOLD,
  groupKey,
  layoutRun,
  neighbour,
  NODE_H,
  NODE_W,
  nodesInView,
  ROW_H,
} from "./layout";

describe("graph layout", () => {
  it("places calls left to right and centres a parent on its children", () => {
    const model = fromSnapshot(fanOut(3));
    const layout = layoutRun(model);
    const root = layout.byKey.get(`${RUN}:1`)!;
    const children = [2, 3, 4].map((n) => layout.byKey.get(`${RUN}:${n}`)!);
    expect(root.x).toBe(0);
    expect(children.every((c) => c.x === NODE_W + COL_GAP)).toBe(true);
    expect(children.map((c) => c.y)).toEqual([0, ROW_H, 2 * ROW_H]);
    expect(root.y).toBe(ROW_H);
    expect(layout.edges.filter((e) => e.kind === "call")).toHaveLength(3);
  });

  it("collapses a large group of repeated siblings into one node", () => {
    const model = fromSnapshot(fanOut(GROUP_THRESHOLD + 1));
    const layout = layoutRun(model);
    expect(layout.nodes).toHaveLength(2);
    const group = layout.nodes[1]!;
    expect(group.kind).toBe("group");
    expect(group.members).toHaveLength(GROUP_THRESHOLD + 1);
    expect(layout.nodeOfStep.get(`${RUN}:5`)).toBe(group.key);
  });

  it("keeps small groups and different targets apart", () => {
    const steps = [step(1, "main", null)];
    for (let i = 0; i < GROUP_THRESHOLD; i++) steps.push(step(i + 2, "a", `${RUN}:1:1`));
    steps.push(step(GROUP_THRESHOLD + 2, "b", `${RUN}:1:1`));
    const layout = layoutRun(fromSnapshot(run(steps)));
    expect(layout.nodes.every((n) => n.kind === "step")).toBe(true);
    expect(layout.nodes).toHaveLength(GROUP_THRESHOLD + 2);
  });

  it("expands a group on request, marking its first member so it can fold back", () => {
    const model = fromSnapshot(fanOut(50));
    const key = groupKey(`${RUN}:1`, model.steps.get(`${RUN}:2`)!);
    const layout = layoutRun(model, { expanded: new Set([key]) });
    expect(layout.nodes).toHaveLength(51);
    expect(layout.byKey.get(`${RUN}:2`)?.expandedGroup).toEqual({ key, size: 50 });
  });

  it("hides a collapsed member's descendants behind the group", () => {
    const steps = [step(1, "main", null)];
    for (let i = 0; i < 20; i++) steps.push(step(i + 2, "square", `${RUN}:1:1`));
    steps.push(step(22, "inner", `${RUN}:2:1`));
    const layout = layoutRun(fromSnapshot(run(steps)));
    expect(layout.byKey.has(`${RUN}:22`)).toBe(false);
    expect(layout.nodeOfStep.get(`${RUN}:22`)).toBe(layout.nodeOfStep.get(`${RUN}:2`));
  });

  it("draws result dependencies as dashed edges, pointing at the group hiding a step", () => {
    const steps = [step(1, "main", null)];
    for (let i = 0; i < 20; i++) steps.push(step(i + 2, "square", `${RUN}:1:1`));
    const handles = steps.slice(1).map((s) => `${s.id}:1`);
    steps.push(step(22, "total", `${RUN}:1:1`, [value([], handles)]));
    const layout = layoutRun(fromSnapshot(run(steps)));
    const deps = layout.edges.filter((e) => e.kind === "dependency");
    expect(deps).toEqual([{ from: layout.nodeOfStep.get(`${RUN}:2`), to: `${RUN}:22`, kind: "dependency" }]);
  });

  // How fast is measured by bench/studio.py, not asserted here (a loaded machine would fail it).
  it("lays out 5,000 steps and draws only what is on screen", () => {
    const model = fromSnapshot(fanOut(5000));
    const key = groupKey(`${RUN}:1`, model.steps.get(`${RUN}:2`)!);
    const layout = layoutRun(model, { expanded: new Set([key]) });
    expect(layout.nodes).toHaveLength(5001);
    const visible = nodesInView(layout, { x: 0, y: 0, width: 1200, height: 800 });
    expect(visible.length).toBeLessThan(40);
  });

  it("moves between nodes with the arrow keys", () => {
    const layout = layoutRun(fromSnapshot(fanOut(3)));
    expect(neighbour(layout, `${RUN}:1`, "right")).toBe(`${RUN}:3`);
    expect(neighbour(layout, `${RUN}:3`, "left")).toBe(`${RUN}:1`);
    expect(neighbour(layout, `${RUN}:3`, "up")).toBe(`${RUN}:2`);
    expect(neighbour(layout, `${RUN}:3`, "down")).toBe(`${RUN}:4`);
    expect(neighbour(layout, `${RUN}:4`, "down")).toBeNull();
  });
});

describe("cf.groups in the layout", () => {
  const id = (n: number) => `${RUN}:${n}`;

  it("folds a group into one node that shows its first member and hides the others", () => {
    const view = groupRun(["succeeded", "failed", "timed_out"]);
    view.steps.push(step(5, "page", `${RUN}:3:1`));
    const model = fromSnapshot(view);
    const layout = layoutRun(model);
    const key = groupKeyOf(model.steps.get(id(2))!)!;
    const node = layout.byKey.get(key)!;
    expect(layout.nodes.map((n) => n.key)).toEqual([id(1), key]);
    expect(node.step.id).toBe(id(2));
    expect(node.callGroup).toMatchObject({ label: "chapters", shown: 0 });
    expect(node.callGroup!.members.map((m) => m.number)).toEqual([2, 3, 4]);
    // Every member, and what a hidden member called, is drawn as the group.
    for (const n of [2, 3, 4, 5]) expect(layout.nodeOfStep.get(id(n))).toBe(key);
  });

  it("shows the member chosen, with what that member called", () => {
    const view = groupRun(["succeeded", "failed", "timed_out"]);
    view.steps.push(step(5, "page", `${RUN}:3:1`));
    const model = fromSnapshot(view);
    const key = groupKeyOf(model.steps.get(id(2))!)!;
    const layout = layoutRun(model, { shown: new Map([[key, id(3)]]) });
    const node = layout.byKey.get(key)!;
    expect(node.step.id).toBe(id(3));
    expect(node.callGroup!.shown).toBe(1);
    expect(node.childKeys).toEqual([id(5)]);
    expect(layout.edges).toContainEqual({ from: key, to: id(5), kind: "call" });
    expect(layout.nodeOfStep.get(id(2))).toBe(key);
  });

  it("draws result edges from and to a group as from and to its member", () => {
    const view = groupRun(["succeeded", "succeeded", "succeeded"]);
    view.steps.push(step(5, "total", `${RUN}:1:1`, [value([], [`${id(2)}:1`, `${id(3)}:1`, `${id(4)}:1`])]));
    view.steps.push(inGroup(step(6, "check", `${RUN}:1:1`, [value(0, [`${id(5)}:1`])]), 1, null));
    const model = fromSnapshot(view);
    const layout = layoutRun(model);
    const chapters = groupKeyOf(model.steps.get(id(2))!)!;
    const checks = groupKeyOf(model.steps.get(id(6))!)!;
    expect(layout.byKey.get(checks)?.callGroup?.label).toBe("Group");
    expect(layout.edges.filter((e) => e.kind === "dependency")).toEqual([
      { from: chapters, to: id(5), kind: "dependency" },
      { from: id(5), to: checks, kind: "dependency" },
    ]);
  });

  it("never collapses a group's members with their siblings, however many", () => {
    const view = groupRun(Array(GROUP_THRESHOLD + 5).fill("succeeded"));
    for (let i = 0; i < GROUP_THRESHOLD + 1; i++) view.steps.push(step(100 + i, "square", `${RUN}:1:1`));
    const model = fromSnapshot(view);
    const layout = layoutRun(model);
    const kinds = layout.nodes.slice(1).map((n) => (n.callGroup ? "cf.group" : n.kind));
    expect(kinds).toEqual(["cf.group", "group"]);
    expect(layout.nodes[2]!.members).toHaveLength(GROUP_THRESHOLD + 1);
  });

  it("keeps room for a group's header above it, and draws the header when only it is on screen", () => {
    const view = run([step(1, "main", null), step(2, "before", `${RUN}:1:1`)]);
    view.steps.push(inGroup(step(3, "square", `${RUN}:1:1`), 0, "chapters"));
    const model = fromSnapshot(view);
    const layout = layoutRun(model);
    const group = layout.byKey.get(groupKeyOf(model.steps.get(id(3))!)!)!;
    const before = layout.byKey.get(id(2))!;
    expect(group.y - GROUP_HEAD).toBeGreaterThanOrEqual(before.y + NODE_H);
    expect(group.y).toBe(before.y + ROW_H + GROUP_HEAD);
    expect(layout.height).toBe(group.y + NODE_H);
    const headerOnly = { x: group.x, y: group.y - GROUP_HEAD, width: NODE_W, height: GROUP_HEAD - 1 };
    expect(nodesInView(layout, headerOnly)).toContain(group);
  });

  it("lays out a group of 5,000 as one node", () => {
    const model = fromSnapshot(groupRun(Array(5000).fill("succeeded")));
    const layout = layoutRun(model, { shown: new Map([[groupKeyOf(model.steps.get(id(2))!)!, id(4001)]]) });
    expect(layout.nodes).toHaveLength(2);
    expect(layout.nodes[1]!.step.id).toBe(id(4001));
  });
});

describe("edges on screen", () => {
  it("draws a large fan-out's calls as one trunk and a stub per visible child", () => {
    const model = fromSnapshot(fanOut(5000));
    const key = groupKey(`${RUN}:1`, model.steps.get(`${RUN}:2`)!);
    const layout = layoutRun(model, { expanded: new Set([key]) });
    const view = { x: 0, y: 100 * ROW_H, width: 1200, height: 800 };
    const visible = nodesInView(layout, view);
    const paths = callPaths(layout, view, visible);
    expect(paths.filter((p) => p.key.startsWith("trunk:"))).toHaveLength(1);
    expect(paths.length).toBe(visible.length + 1);
  });

  it("caps the result edges of a step that consumes thousands of results", () => {
    const steps = [step(1, "main", null)];
    for (let i = 0; i < 3000; i++) steps.push(step(i + 2, "square", `${RUN}:1:1`));
    steps.push(step(3002, "total", `${RUN}:1:1`, [value([], steps.slice(1).map((s) => `${s.id}:1`))]));
    const model = fromSnapshot(run(steps));
    const key = groupKey(`${RUN}:1`, model.steps.get(`${RUN}:2`)!);
    const layout = layoutRun(model, { expanded: new Set([key]) });
    expect(layout.edges.filter((e) => e.kind === "dependency")).toHaveLength(3000);
    const view = { x: 0, y: 0, width: 1200, height: 800 };
    const drawn = dependencyEdgesInView(layout, nodesInView(layout, view), null);
    expect(drawn.length).toBeGreaterThan(0);
    expect(drawn.length).toBeLessThanOrEqual(200);
  });
});

describe("clipping", () => {
  it("clips an axis-aligned route to the view and says whether its end shows", () => {
    const view = { x: 0, y: 0, width: 100, height: 100 };
    expect(clippedPath([[10, 10], [50, 10], [50, 1000], [20, 1000]], view)).toEqual({ d: "M10,10 L50,10 L50,100", endVisible: false });
    expect(clippedPath([[10, 10], [50, 10], [50, 60], [20, 60]], view)).toEqual({ d: "M10,10 L50,10 L50,60 L20,60", endVisible: true });
    expect(clippedPath([[500, 500], [600, 500]], view)).toBeNull();
  });
});
