// @vitest-environment happy-dom
import { act } from "preact/test-utils";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { fromSnapshot } from "../model/run";
import type { ExecutionState } from "../api/types";
import { fanOut, groupRun, RUN } from "../test/fixtures";
import { mount } from "../test/mount";
import { Graph } from "./Graph";

beforeAll(() => {
  // happy-dom does no layout: give the canvas a size.
  Object.defineProperty(HTMLElement.prototype, "clientWidth", { configurable: true, get: () => 1200 });
  Object.defineProperty(HTMLElement.prototype, "clientHeight", { configurable: true, get: () => 800 });
});

function pointerClick(target: Element) {
  act(() => {
    target.dispatchEvent(new PointerEvent("pointerdown", { bubbles: true, button: 0, clientX: 5, clientY: 5 }));
    target.dispatchEvent(new PointerEvent("pointerup", { bubbles: true, button: 0, clientX: 5, clientY: 5 }));
  });
}

describe("Graph", () => {
  it("shows a 5,000-step fan-out as one group, and draws only visible nodes once expanded", () => {
    const model = fromSnapshot(fanOut(5000));
    const root = mount(<Graph model={model} structure={model.structure} active={false} selectedStep={null} onSelect={() => undefined} />);
    expect(root.querySelectorAll(".node")).toHaveLength(2);
    const group = root.querySelector("[data-group]")!;
    expect(group.getAttribute("aria-label")).toMatch(/square × 5,000/);
    pointerClick(group);
    const drawn = root.querySelectorAll(".node").length;
    expect(drawn).toBeGreaterThan(5);
    expect(drawn).toBeLessThan(100);
  });

  it("selects a step on click and moves the selection with arrow keys", () => {
    const model = fromSnapshot(fanOut(3));
    const onSelect = vi.fn();
    const root = mount(<Graph model={model} structure={model.structure} active={false} selectedStep={`${RUN}:1`} onSelect={onSelect} />);
    pointerClick(root.querySelector(`[data-step="${RUN}:2"]`)!);
    expect(onSelect).toHaveBeenLastCalledWith(`${RUN}:2`, "click");
    const canvas = root.querySelector(".graph-canvas")!;
    act(() => {
      canvas.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true }));
    });
    expect(onSelect).toHaveBeenLastCalledWith(`${RUN}:3`, "key");
  });

  it("marks states in words as well as colours", () => {
    const model = fromSnapshot(fanOut(1));
    const root = mount(<Graph model={model} structure={model.structure} active={false} selectedStep={null} onSelect={() => undefined} />);
    expect(root.querySelector(`[data-step="${RUN}:2"]`)?.getAttribute("aria-label")).toBe("square #2, succeeded");
  });

  it("draws a progress bar only on the nodes of steps with a progress metric", () => {
    const model = fromSnapshot(fanOut(3));
    const progress = new Map([
      [`${RUN}:2`, { key: "progress", done: 10, total: 40, fraction: 0.25 }],
      [`${RUN}:4`, { key: "progress", done: 40, total: 40, fraction: 1 }],
    ]);
    const root = mount(
      <Graph model={model} structure={model.structure} active={false} selectedStep={null} onSelect={() => undefined} progress={progress} />,
    );
    expect([...root.querySelectorAll(".node-progress")].map((g) => g.closest(".node")?.getAttribute("data-step"))).toEqual([`${RUN}:2`, `${RUN}:4`]);
    const quarter = root.querySelector(`[data-step="${RUN}:2"].node`)!;
    expect(quarter.getAttribute("aria-label")).toBe("square #2, succeeded, progress 25%");
    expect(quarter.querySelector(".node-progress-label")?.textContent).toBe("25%");
    const track = Number(quarter.querySelector(".node-progress-track")?.getAttribute("width"));
    expect(Number(quarter.querySelector(".node-progress-fill")?.getAttribute("width"))).toBeCloseTo(track / 4);
    expect(root.querySelector(`[data-step="${RUN}:3"].node`)?.getAttribute("aria-label")).toBe("square #3, succeeded");
  });

  it("shows a timed-out step in words and by its state's colour class", () => {
    const model = fromSnapshot(groupRun(["timed_out"], null));
    const root = mount(<Graph model={model} structure={model.structure} active={false} selectedStep={null} onSelect={() => undefined} />);
    const node = root.querySelector(`[data-step="${RUN}:2"].node`)!;
    expect(node.getAttribute("aria-label")).toBe("square #2, timed out, step 1 of 1 in Group");
    expect(node.classList.contains("state-timed_out")).toBe(true);
  });
});

describe("Graph: cf.groups", () => {
  const states: ExecutionState[] = ["succeeded", "failed", "succeeded", "timed_out", "failed"];
  const header = (root: HTMLElement) => root.querySelector("[data-call-group]")!;
  const shownStep = (root: HTMLElement) => root.querySelector(`.node[data-key^="cf-group:"]`)?.getAttribute("data-step");

  function graph(selectedStep: string | null = null, onSelect = vi.fn()) {
    const model = fromSnapshot(groupRun(states, "chapters"));
    const root = mount(<Graph model={model} structure={model.structure} active={false} selectedStep={selectedStep} onSelect={onSelect} />);
    return { root, onSelect };
  }

  it("draws a group as one member under a header with its name, size and states", () => {
    const { root } = graph();
    expect(root.querySelectorAll(".node")).toHaveLength(2);
    expect(header(root).getAttribute("aria-label")).toBe("chapters: 5 steps · 2 failed · 1 timed out; showing 1 of 5");
    expect(root.querySelector(".call-group-position")?.textContent).toBe("1 / 5");
    expect(root.querySelector(`.node[data-step="${RUN}:2"]`)?.getAttribute("aria-label")).toBe("square #2, succeeded, step 1 of 5 in chapters");
  });

  it("moves between members with the selector, selecting the member shown", () => {
    const { root, onSelect } = graph();
    pointerClick(root.querySelector('[data-member-move="1"]')!);
    expect(onSelect).toHaveBeenLastCalledWith(`${RUN}:3`, "click");
    expect(shownStep(root)).toBe(`${RUN}:3`);
    expect(root.querySelector(".call-group-position")?.textContent).toBe("2 / 5");
    pointerClick(root.querySelector('[data-member-move="-1"]')!);
    pointerClick(root.querySelector('[data-member-move="-1"]')!);
    expect(shownStep(root)).toBe(`${RUN}:6`); // wraps round to the last
  });

  it("jumps to the next member in a state from the header's counts", () => {
    const { root } = graph();
    pointerClick(root.querySelector('[data-member-state="failed"]')!);
    expect(shownStep(root)).toBe(`${RUN}:3`);
    pointerClick(root.querySelector('[data-member-state="failed"]')!);
    expect(shownStep(root)).toBe(`${RUN}:6`);
    pointerClick(root.querySelector('[data-member-state="timed_out"]')!);
    expect(shownStep(root)).toBe(`${RUN}:5`);
  });

  it("moves between members of the selected group with [ and ]", () => {
    const { root, onSelect } = graph(`${RUN}:2`);
    const canvas = root.querySelector(".graph-canvas")!;
    act(() => {
      canvas.dispatchEvent(new KeyboardEvent("keydown", { key: "]", bubbles: true }));
    });
    expect(onSelect).toHaveBeenLastCalledWith(`${RUN}:3`, "key");
    expect(shownStep(root)).toBe(`${RUN}:3`);
  });

  it("shows the member a deep link selects", () => {
    const { root } = graph(`${RUN}:5`);
    expect(shownStep(root)).toBe(`${RUN}:5`);
    expect(root.querySelector(".node.selected")?.getAttribute("data-step")).toBe(`${RUN}:5`);
  });

  it("stays one node for a group of 5,000", () => {
    const model = fromSnapshot(groupRun(Array(5000).fill("succeeded"), "pages"));
    const root = mount(<Graph model={model} structure={model.structure} active={false} selectedStep={null} onSelect={() => undefined} />);
    expect(root.querySelectorAll(".node")).toHaveLength(2);
    expect(header(root).getAttribute("aria-label")).toBe("pages: 5,000 steps; showing 1 of 5,000");
  });
});
