// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { mount } from "../test/mount";
import { ValueView } from "./ValueView";

describe("ValueView", () => {
  it("renders short values on one line", () => {
    const root = mount(<ValueView value={{ format: "json", data: { $: "tuple", v: [1, "a"] } }} />);
    expect(root.textContent).toBe('(1, "a")');
  });

  it("indents long collections and cuts very long ones", () => {
    const data = Array.from({ length: 250 }, (_, i) => `item number ${i}`);
    const root = mount(<ValueView value={{ format: "json", data }} />);
    expect(root.querySelectorAll(".v-row")).toHaveLength(100);
    expect(root.querySelector("button")?.textContent).toMatch(/show 150 more of 250/);
  });

  it("links execution handles to their step", () => {
    const root = mount(
      <ValueView value={{ format: "json", data: { $: "execution", v: "r:2:1" }, executions: ["r:2:1"] }} links={{ execution: () => "/step/2" }} />,
    );
    expect(root.querySelector("a")?.getAttribute("href")).toBe("/step/2");
  });
});
