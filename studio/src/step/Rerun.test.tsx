// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from "vitest";
import type { ExecutionState, TokenView } from "../api/types";
import type { Env } from "../model/environments";
import { fromSnapshot, type Step } from "../model/run";
import { session } from "../signin/session";
import { RUN, run, step } from "../test/fixtures";
import { mount } from "../test/mount";
import { Rerun } from "./Rerun";
import { rerunRefusal } from "./rerunRefusal";

const token: TokenView = { id: "t1", project: "demo", environments: null, read_only: true, description: "ci", created_at: 1, revoked_at: null };

function env(name: string, status: Env["status"] = "active"): Env {
  return { id: `id-${name}`, name, baseId: null, status, createdAt: 1, updatedAt: 1 };
}

function stepIn(state: ExecutionState): Step {
  return fromSnapshot(run([step(1, "main", null, [], state)])).steps.get(`${RUN}:1`)!;
}

function refusal(state: ExecutionState, environment = env("production")) {
  const s = stepIn(state);
  return rerunRefusal({ latest: s.executions[s.executions.length - 1], environment: environment.name, env: environment, session: session.state.value });
}

afterEach(() => session.state.set({ phase: "checking" }));

describe("rerunRefusal", () => {
  it("allows a finished step", () => {
    session.state.set({ phase: "open" });
    for (const state of ["succeeded", "failed", "cancelled", "abandoned", "timed_out", "cached"] as const) expect(refusal(state)).toBeNull();
  });

  it("refuses what the server refuses: an unfinished execution, an unfinished spawned run", () => {
    session.state.set({ phase: "open" });
    expect(refusal("queued")).toBe("The step has not finished: its latest execution is still queued.");
    expect(refusal("assigned")).toBe("The step has not finished: its latest execution is still running.");
    expect(refusal("spawned")).toBe("The step's spawned run has not finished.");
  });

  it("refuses an environment that is not active", () => {
    session.state.set({ phase: "open" });
    expect(refusal("succeeded", env("production", "paused"))).toBe("Environment production is paused.");
    expect(refusal("succeeded", env("old", "archived"))).toBe("Environment old is archived.");
  });

  it("refuses a read-only token, and one for other environments", () => {
    session.state.set({ phase: "signed-in", identity: { admin: false, token, projectName: "demo" } });
    expect(refusal("succeeded")).toBe("Your token is a read-only token.");
    session.state.set({ phase: "signed-in", identity: { admin: false, token: { ...token, read_only: false, environments: ["staging"] }, projectName: "demo" } });
    expect(refusal("succeeded")).toBe("Your token is not for environment production.");
    session.state.set({ phase: "signed-in", identity: { admin: true } });
    expect(refusal("succeeded")).toBeNull();
  });
});

describe("Rerun", () => {
  it("disables the button and says why, in view and in its title", () => {
    session.state.set({ phase: "signed-in", identity: { admin: false, token, projectName: "demo" } });
    const root = mount(<Rerun project="demo" stepId={`${RUN}:1`} step={stepIn("succeeded")} environments={[env("production")]} defaultEnvironment="production" onStarted={() => undefined} />);
    const button = root.querySelector("button")!;
    expect(button.disabled).toBe(true);
    expect(button.title).toBe("Your token is a read-only token.");
    expect(root.querySelector(".rerun-reason")?.textContent).toBe("Re-run unavailable: Your token is a read-only token.");
  });

  it("offers re-run when nothing stands in the way", () => {
    session.state.set({ phase: "open" });
    const root = mount(<Rerun project="demo" stepId={`${RUN}:1`} step={stepIn("failed")} environments={[env("production")]} defaultEnvironment="production" onStarted={() => undefined} />);
    expect(root.querySelector("button")!.disabled).toBe(false);
    expect(root.querySelector(".rerun-reason")).toBeNull();
  });
});
