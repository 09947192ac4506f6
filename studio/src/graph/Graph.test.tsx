// @vitest-environment happy-dom
import { act } from "preact/test-utils";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { fromSnapshot } from "../model/run";
import { fanOut, RUN } from "../test/fixtures";
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
});
