// @vitest-environment happy-dom
/// <reference types="node" />
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import type { ExecutionState, StepView } from "../api/types";
import { fromSnapshot } from "../model/run";
import { execution, RUN, run, step } from "../test/fixtures";
import { mount } from "../test/mount";
import { barClass, timelineRows } from "./rows";
import { Timeline } from "./Timeline";

// Vitest does not load CSS: read the style sheets as text.
const css = (path: string) => readFileSync(new URL(path, import.meta.url), "utf8");
const runCss = css("../styles/run.css");
const baseCss = css("../styles/base.css");
const timelineCss = css("./timeline.css");

beforeAll(() => {
  // happy-dom does no layout: give the scroller a size so every row is drawn.
  Object.defineProperty(HTMLElement.prototype, "clientWidth", { configurable: true, get: () => 1200 });
  Object.defineProperty(HTMLElement.prototype, "clientHeight", { configurable: true, get: () => 2000 });
});

/** Steps 1..12 all made at the same instant, step 2 tried three times. */
function tiedRun() {
  const steps: StepView[] = [];
  for (let number = 12; number >= 1; number--) {
    const view = step(number, number === 1 ? "main" : "square", number === 1 ? null : `${RUN}:1:1`);
    const attempts = number === 2 ? [3, 1, 2] : [1];
    steps.push({ ...view, created_at: 100, executions: attempts.map((a) => execution(view.id, a, a === 3 ? "succeeded" : "failed", 100)) });
  }
  return fromSnapshot(run(steps));
}

describe("timeline order", () => {
  it("orders rows by step number, then attempt, when their times tie", () => {
    expect(timelineRows(tiedRun()).map((e) => e.id)).toEqual([
      `${RUN}:1:1`,
      `${RUN}:2:1`,
      `${RUN}:2:2`,
      `${RUN}:2:3`,
      ...[3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((n) => `${RUN}:${n}:1`),
    ]);
  });

  it("draws the rows in that order", () => {
    const root = mount(<Timeline model={tiedRun()} version={0} active={false} selectedStep={null} onSelect={() => undefined} />);
    const labels = [...root.querySelectorAll(".timeline-label .mono")].map((el) => el.textContent);
    expect(labels.slice(0, 5)).toEqual(["#1", "#2", "#2.2", "#2.3", "#3"]);
    expect(labels.indexOf("#10")).toBeGreaterThan(labels.indexOf("#9"));
  });
});

describe("timeline legend", () => {
  const states: ExecutionState[] = ["succeeded", "failed", "assigned", "timed_out"];
  const model = () => fromSnapshot(run([step(1, "main", null, [], "assigned"), ...states.map((s, i) => step(i + 2, "square", `${RUN}:1:1`, [], s))]));
  const classes = (el: Element | null) => [...(el?.classList ?? [])].filter((c) => c !== "legend-swatch").sort();

  it("draws each state present with exactly the classes of that state's bars", () => {
    const root = mount(<Timeline model={model()} version={0} active={false} selectedStep={null} onSelect={() => undefined} />);
    const legend = [...root.querySelectorAll(".timeline-state")].map((el) => el.getAttribute("data-state"));
    expect(legend).toEqual(["failed", "timed_out", "assigned", "succeeded"]);
    for (const state of states) {
      const swatch = root.querySelector(`.timeline-state[data-state="${state}"] .legend-swatch`);
      const bar = root.querySelector(`.timeline-track .bar-running.state-${state}`);
      expect(bar).not.toBeNull();
      expect(classes(swatch)).toEqual(classes(bar));
      expect(classes(swatch)).toEqual(barClass("running", state).split(" ").sort());
    }
  });

  it("colours bars only by their state, and never recolours a swatch", () => {
    // The one colour rule: a bar's fill is its state class's --state.
    expect(runCss).toMatch(/\.bar-running \{\s*background: var\(--state\);\s*\}/);
    expect(baseCss).toMatch(/\.state-failed \{ --state: var\(--state-failed\); \}/);
    // The legend's own rules only place a swatch (its colour is the bar's).
    const swatchRules = timelineCss.match(/\.bar\.legend-swatch \{[^}]*\}/g) ?? [];
    expect(swatchRules).toHaveLength(1);
    for (const rule of swatchRules) expect(rule).not.toMatch(/background|color|--state/);
  });
});
