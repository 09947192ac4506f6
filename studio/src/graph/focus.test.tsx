// @vitest-environment happy-dom
import { act } from "preact/test-utils";
import { useState } from "preact/hooks";
import { beforeAll, describe, expect, it } from "vitest";
import type { ExecutionState, RunView } from "../api/types";
import { fromSnapshot, type RunModel } from "../model/run";
import { fanOut, groupRun, RUN } from "../test/fixtures";
import { mount } from "../test/mount";
import { cycleInState, stateCounts } from "./focus";
import { Graph } from "./Graph";
import { groupsHiding, layoutRun } from "./layout";
import { SEGMENT_MIN, tallySegments } from "./Node";

beforeAll(() => {
  Object.defineProperty(HTMLElement.prototype, "clientWidth", { configurable: true, get: () => 1200 });
  Object.defineProperty(HTMLElement.prototype, "clientHeight", { configurable: true, get: () => 800 });
});

/** Step numbers (2..1001) of the 8 failed calls among the 1,000. */
const FAILED = [9, 130, 131, 402, 555, 777, 950, 1001];

function withFailures(view: RunView): RunView {
  const steps = view.steps.map((step) => {
    if (!FAILED.includes(step.number)) return step;
    const [execution] = step.executions;
    return { ...step, executions: [{ ...execution!, state: "failed" as ExecutionState, outcome: null }] };
  });
  return { ...view, steps };
}

const plainFanOut = () => fromSnapshot(withFailures(fanOut(1000)));
const groupedFanOut = () => fromSnapshot(withFailures(groupRun(Array(1000).fill("succeeded"), "pages")));

/** The graph as the run page holds it: the selection follows `onSelect`. */
function Harness({ model, onSelected }: { model: RunModel; onSelected(id: string): void }) {
  const [selected, setSelected] = useState<string | null>(null);
  return (
    <Graph
      model={model}
      structure={model.structure}
      active={false}
      selectedStep={selected}
      onSelect={(id) => {
        setSelected(id);
        onSelected(id);
      }}
    />
  );
}

function click(el: Element | null) {
  expect(el).not.toBeNull();
  act(() => {
    (el as HTMLElement).click();
  });
}

const chip = (root: HTMLElement, state: string) => root.querySelector(`.graph-states [data-state="${state}"]`);
const button = (root: HTMLElement, text: string) => [...root.querySelectorAll(".graph-states button")].find((b) => b.textContent?.includes(text)) ?? null;

describe("state counts and cycling", () => {
  it("counts the steps in each state, failures first", () => {
    expect(stateCounts(plainFanOut())).toEqual([
      ["failed", 8],
      ["succeeded", 993],
    ]);
  });

  it("cycles through the failed steps by number, both ways, wrapping round", () => {
    const model = plainFanOut();
    const seen: number[] = [];
    let at: string | null = null;
    for (let i = 0; i < 9; i++) {
      at = cycleInState(model, "failed", at, 1)!.id;
      seen.push(model.steps.get(at)!.number);
    }
    expect(seen).toEqual([...FAILED, FAILED[0]]);
    expect(cycleInState(model, "failed", `${RUN}:9`, -1)?.number).toBe(1001);
    expect(cycleInState(model, "failed", `${RUN}:500`, -1)?.number).toBe(402);
    expect(cycleInState(model, "timed_out", null, 1)).toBeNull();
  });

  it("names the collapsed group that hides a step, and no group once it is open", () => {
    const model = plainFanOut();
    const [key] = groupsHiding(model, `${RUN}:402`);
    expect(key).toBeDefined();
    expect(layoutRun(model).nodeOfStep.get(`${RUN}:402`)).toBe(key);
    expect(layoutRun(model, { expanded: new Set([key!]) }).nodeOfStep.get(`${RUN}:402`)).toBe(`${RUN}:402`);
    expect(groupsHiding(groupedFanOut(), `${RUN}:402`)).toEqual([]); // a cf.group shows its member instead
  });

  it("never draws a state of a collapsed group as a sliver", () => {
    const segments = tallySegments([["failed", 8], ["succeeded", 992]], 1000, 140);
    expect(segments[0]).toEqual({ state: "failed", x: 0, width: SEGMENT_MIN });
    expect(segments[1]!.x).toBe(SEGMENT_MIN);
    expect(segments[0]!.width + segments[1]!.width).toBeCloseTo(140);
  });
});

describe("Graph: the failed chip", () => {
  it("shows the counts as chips, and draws the 8 failures of a collapsed 1,000 visibly", () => {
    const root = mount(<Harness model={plainFanOut()} onSelected={() => undefined} />);
    expect(chip(root, "failed")?.textContent).toContain("8 failed");
    expect(chip(root, "succeeded")?.textContent).toContain("993 succeeded");
    const failedPart = root.querySelector('[data-group] .tally[data-state="failed"]');
    expect(Number(failedPart?.getAttribute("width"))).toBeGreaterThanOrEqual(SEGMENT_MIN);
    expect(root.querySelector("[data-group] .group-first")?.textContent).toBe("8 ✕");
  });

  for (const [name, model] of [
    ["a collapsed fan-out", plainFanOut],
    ["a cf.group", groupedFanOut],
  ] as const) {
    it(`goes from one failed step to the next inside ${name}, drawing each`, () => {
      const selected: string[] = [];
      const root = mount(<Harness model={model()} onSelected={(id) => selected.push(id)} />);
      click(chip(root, "failed"));
      expect(chip(root, "failed")?.getAttribute("aria-pressed")).toBe("true");
      for (let i = 1; i < FAILED.length + 1; i++) click(button(root, "Next failed"));
      expect(selected).toEqual([...FAILED, FAILED[0]].map((n) => `${RUN}:${n}`));
      // The step selected has a node of its own, drawn, selected and not dimmed.
      const node = root.querySelector(`.node[data-step="${RUN}:${FAILED[0]}"]`);
      expect(node?.classList.contains("selected")).toBe(true);
      expect(node?.classList.contains("dimmed")).toBe(false);
      expect(root.querySelector(".graph-states")?.textContent).toContain("1 of 8");
      click(button(root, "Previous failed"));
      expect(selected.at(-1)).toBe(`${RUN}:${FAILED.at(-1)}`);
      expect(root.querySelector(`.node[data-step="${RUN}:${FAILED.at(-1)}"]`)?.classList.contains("selected")).toBe(true);
    });
  }

  it("dims the steps in other states, and picking the chip again shows them all", () => {
    const root = mount(<Harness model={plainFanOut()} onSelected={() => undefined} />);
    click(chip(root, "failed"));
    const drawn = [...root.querySelectorAll(".node[data-step]")];
    expect(drawn.some((n) => n.classList.contains("dimmed"))).toBe(true);
    for (const n of drawn) expect(n.classList.contains("dimmed")).toBe(n.getAttribute("data-state") !== "failed");
    click(chip(root, "failed"));
    expect(root.querySelectorAll(".node.dimmed")).toHaveLength(0);
    expect(button(root, "Next failed")).toBeNull();
  });

  it("goes on with the n and p keys", () => {
    const selected: string[] = [];
    const root = mount(<Harness model={plainFanOut()} onSelected={(id) => selected.push(id)} />);
    click(chip(root, "failed"));
    const canvas = root.querySelector(".graph-canvas")!;
    act(() => {
      canvas.dispatchEvent(new KeyboardEvent("keydown", { key: "n", bubbles: true }));
    });
    act(() => {
      canvas.dispatchEvent(new KeyboardEvent("keydown", { key: "n", bubbles: true }));
    });
    act(() => {
      canvas.dispatchEvent(new KeyboardEvent("keydown", { key: "p", bubbles: true }));
    });
    expect(selected).toEqual([`${RUN}:9`, `${RUN}:130`, `${RUN}:131`, `${RUN}:130`]);
  });
});
