// @vitest-environment happy-dom
import { act } from "preact/test-utils";
import { useEffect, useState } from "preact/hooks";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Fact, InputInfo } from "../api/types";
import { InputsLive } from "../live/inputs";
import { fromSnapshot } from "../model/run";
import { StepPanel } from "../step/StepPanel";
import { RUN, run, step, value } from "../test/fixtures";
import { flush, mount } from "../test/mount";
import { PendingInputs } from "./PendingInputs";

function asked(id: string, executionId: string, createdAt: number, title: string): Fact {
  const input: InputInfo = {
    id,
    execution_id: executionId,
    run_id: RUN,
    environment: "production",
    key: id,
    title,
    template: "## Deploy {service}?\n\nIt has **{count}** hosts.",
    placeholders: { service: value("api"), count: value(3) },
    schema: null,
    initial: null,
    actions: null,
    requires: {},
    created_at: createdAt,
  };
  return { fact: "input_requested", input, run_id: RUN, at: createdAt };
}

/** The list, re-rendered whenever the live inputs change (as a page is). */
function Harness({ inputs, onReady }: { inputs: InputsLive; onReady(render: () => void): void }) {
  const [, setTick] = useState(0);
  useEffect(() => onReady(() => setTick((t) => t + 1)), [onReady]);
  return <PendingInputs project="demo" source={inputs} locate={(input) => ({ to: `/step/${input.execution_id}`, label: `step of ${input.id}` })} />;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("PendingInputs", () => {
  it("lists waiting inputs as facts arrive, drops answered ones, and answers in a dialog", async () => {
    let rerender = () => undefined as void;
    const inputs = new InputsLive("demo", { run: RUN }, () => rerender());
    const root = mount(<Harness inputs={inputs} onReady={(r) => (rerender = r)} />);
    expect(root.querySelector("[data-testid=pending-inputs]")).toBeNull();

    act(() => {
      inputs.apply([asked("i1", `${RUN}:2:1`, 100, "First"), asked("i2", `${RUN}:3:1`, 110, "Second")]);
      rerender();
    });
    const rows = () => [...root.querySelectorAll(".input-row")].map((row) => row.querySelector("strong")?.textContent);
    expect(rows()).toEqual(["Second", "First"]);
    expect(root.querySelector(".input-row-summary")?.textContent).toBe("Deploy api?");
    expect(root.querySelector(".input-row a")?.getAttribute("href")).toBe(`/step/${RUN}:3:1`);

    // Answered elsewhere: the row goes.
    act(() => {
      inputs.apply([{ fact: "input_dismissed", input_id: "i2", run_id: RUN, dismissed_by: "token t2", at: 120 }]);
      rerender();
    });
    expect(rows()).toEqual(["First"]);

    // Answered here: the dialog shows the prompt, then who answered; the row goes.
    const answered = { ...inputs.book.byId.get("i1")!, status: "responded" as const, responded_by: "admin", responded_at: 130 };
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify(answered))));
    act(() => [...root.querySelectorAll("button")].find((b) => b.textContent === "Respond…")!.click());
    const dialog = root.querySelector("dialog")!;
    expect(dialog.querySelector("h4")?.textContent).toBe("Deploy api?");
    expect(dialog.querySelector("strong")?.textContent).toBe("3");
    act(() => [...dialog.querySelectorAll("button")].find((b) => b.textContent === "Approve")!.click());
    await flush();
    await flush();
    expect(rows()).toEqual([]);
    expect(root.querySelector("dialog [data-testid=input-outcome]")?.textContent).toContain("Approved by admin");
    inputs.close();
  });

  it("shows the step's own inputs on its panel, with their state", () => {
    const inputs = new InputsLive("demo", { run: RUN }, () => undefined);
    inputs.apply([asked("i1", `${RUN}:2:1`, 100, "Mine"), asked("i2", `${RUN}:3:1`, 110, "Another step's")]);
    inputs.apply([{ fact: "input_responded", input_id: "i1", run_id: RUN, value: null, responded_by: "admin", at: 120 }]);
    const model = fromSnapshot(run([step(1, "main", null), step(2, "deploy", `${RUN}:1:1`, [], "assigned"), step(3, "other", `${RUN}:1:1`)]));
    const panel = (id: string) =>
      mount(
        <StepPanel
          project="demo"
          runAssets={null}
          inputs={inputs}
          model={model}
          step={model.steps.get(id)!}
          parameters={[]}
          environments={[]}
          stepRoute={() => ({ page: "projects" })}
          onClose={() => undefined}
          onShowLogs={() => undefined}
        />,
      );
    const section = panel(`${RUN}:2`).querySelector("[data-testid=step-inputs]")!;
    expect([...section.querySelectorAll(".input-card")].map((c) => c.getAttribute("aria-label"))).toEqual(["Mine"]);
    expect(section.querySelector("[data-status]")?.getAttribute("data-status")).toBe("responded");
    expect(section.textContent).toContain("Approved by admin");
    expect(panel(`${RUN}:1`).querySelector("[data-testid=step-inputs]")).toBeNull();
    inputs.close();
  });
});
