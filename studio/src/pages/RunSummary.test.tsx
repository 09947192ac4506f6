// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import type { ExecutionState, Manifest, StepView } from "../api/types";
import { fromSnapshot } from "../model/run";
import { execution, run, step, value } from "../test/fixtures";
import { mount } from "../test/mount";
import { INLINE_CHARS, RunSummary } from "./RunSummary";

const MANIFESTS: Manifest[] = [
  { repository: "flows", targets: [{ name: "main", type: "workflow", parameters: [{ name: "city" }, { name: "rows" }] }] },
];

function rootOnly(state: ExecutionState, extra: Partial<StepView> = {}) {
  const root = step(1, "main", null, [value("Paris"), value(Array.from({ length: 50 }, (_, i) => i))], state);
  return fromSnapshot(run([{ ...root, ...extra }]));
}

const part = (root: HTMLElement, id: string) => root.querySelector(`[data-testid="${id}"]`) as HTMLElement;

describe("RunSummary", () => {
  it("names the arguments by the workflow's parameters, long ones collapsed, and says it has not finished", () => {
    const root = mount(<RunSummary model={rootOnly("assigned")} manifests={MANIFESTS} />);
    const names = [...root.querySelectorAll(".run-summary-argument dt")].map((dt) => dt.textContent);
    expect(names).toEqual(["city", "rows"]);
    const [short, long] = [...root.querySelectorAll(".run-summary-argument dd")];
    expect(short?.querySelector("details")).toBeNull();
    expect(short?.textContent).toBe('"Paris"');
    const details = long?.querySelector("details");
    expect(details?.open).toBe(false);
    expect(details?.querySelector("summary")?.textContent).toHaveLength(INLINE_CHARS);
    expect(part(root, "run-outcome").textContent).toBe("ResultNot finished yet.");
  });

  it("falls back to positions while the manifest is unknown", () => {
    const root = mount(<RunSummary model={rootOnly("queued")} manifests={undefined} />);
    expect([...root.querySelectorAll(".run-summary-argument dt")].map((dt) => dt.textContent)).toEqual(["argument 1", "argument 2"]);
  });

  it("shows a finished run's result", () => {
    const root = mount(<RunSummary model={rootOnly("succeeded")} manifests={MANIFESTS} />);
    expect(part(root, "run-outcome").querySelector("h2")?.textContent).toBe("Result");
    expect(part(root, "run-outcome").querySelector(".value")?.textContent).toBe("1");
  });

  it("shows a failed run's error from its first step's latest attempt, the traceback collapsed", () => {
    const failedFirst = { ...execution("run1:1", 1, "failed"), outcome: { tag: "failed" as const, error: { type: "ValueError", message: "first try", traceback: "tb 1" } } };
    const failedLast = { ...execution("run1:1", 2, "failed"), outcome: { tag: "failed" as const, error: { type: "KeyError", message: "'rows'", traceback: "Traceback…" } } };
    const root = mount(<RunSummary model={rootOnly("failed", { executions: [failedFirst, failedLast] })} manifests={MANIFESTS} />);
    const outcome = part(root, "run-outcome");
    expect(outcome.querySelector("h2")?.textContent).toBe("Error");
    expect(outcome.querySelector(".error-box p")?.textContent).toBe("KeyError: 'rows'");
    expect(outcome.querySelector("details")?.open).toBe(false);
    expect(outcome.textContent).not.toContain("first try");
  });
});
