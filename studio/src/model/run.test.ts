import { describe, expect, it } from "vitest";
import type { ExecutionView, RunDelta, StepView } from "../api/types";
import { fanOut, groupRun, RUN, run, step, value } from "../test/fixtures";
import { applyDeltas, countSteps, fromSnapshot, runCompletedAt, runState, stepState } from "./run";

function newStep(number: number, group: StepView["group"] = null): StepView {
  return {
    id: `${RUN}:${number}`,
    number,
    repository: "flows",
    target: "square",
    type: "task",
    parent_execution: `${RUN}:1:1`,
    call_index: number - 2,
    created_at: 200,
    arguments: [value(3)],
    executions: [],
    options: { memo: [0] },
    group,
  };
}

function newExecution(stepId: string, attempt: number, environment: string, at: number): ExecutionView {
  return {
    id: `${stepId}:${attempt}`,
    attempt,
    state: "queued",
    environment,
    created_at: at,
    assigned_at: null,
    completed_at: null,
    session_id: null,
    outcome: null,
    transitions: [],
  };
}

/** Step 2 called, its execution made in staging, queued, then assigned. */
function liveDeltas(): RunDelta[] {
  const id = `${RUN}:2:1`;
  return [
    { delta: "step_added", step: newStep(2) },
    { delta: "execution_added", step_id: `${RUN}:2`, execution: newExecution(`${RUN}:2`, 1, "staging", 200) },
    { delta: "execution_changed", execution_id: id, state: "queued", transition: { state: "queued", at: 200, session_id: null } },
    {
      delta: "execution_changed",
      execution_id: id,
      state: "assigned",
      transition: { state: "assigned", at: 201, session_id: "s1" },
      assigned_at: 201,
      session_id: "s1",
    },
  ];
}

describe("run model", () => {
  it("builds steps, executions and children from a snapshot", () => {
    const model = fromSnapshot(fanOut(3));
    expect(model.order.map((s) => s.number)).toEqual([1, 2, 3, 4]);
    expect(model.children.get(`${RUN}:1`)?.map((s) => s.number)).toEqual([2, 3, 4]);
    expect(model.executions.size).toBe(4);
    expect(runState(model)).toBe("succeeded");
  });

  it("applies deltas: a new step, its execution and its transitions", () => {
    const model = fromSnapshot(run([step(1, "main", null, [], "assigned")]));
    const applied = applyDeltas(model, liveDeltas());
    expect(applied).toMatchObject({ changed: true, structural: true });
    const added = model.steps.get(`${RUN}:2`);
    expect(added?.parentStep).toBe(`${RUN}:1`);
    expect(added?.options?.memo).toEqual([0]);
    expect(stepState(added!)).toBe("assigned");
    const execution = model.executions.get(`${RUN}:2:1`)!;
    expect(execution.environment).toBe("staging");
    expect(execution.assignedAt).toBe(201);
    expect(execution.sessionId).toBe("s1");
    expect(countSteps(model)).toEqual({ total: 2, active: 2, failed: 0, timedOut: 0 });
  });

  it("is unchanged by deltas applied twice (they may repeat across a snapshot)", () => {
    const model = fromSnapshot(run([step(1, "main", null, [], "assigned")]));
    applyDeltas(model, liveDeltas());
    const version = model.version;
    const again = applyDeltas(model, liveDeltas());
    expect(again.changed).toBe(false);
    expect(model.version).toBe(version);
    const execution = model.executions.get(`${RUN}:2:1`)!;
    expect(execution.transitions).toHaveLength(2);
    // A repeat of an older change does not take the execution back.
    expect(execution.state).toBe("assigned");
    expect(model.order).toHaveLength(2);
  });

  it("records outcomes and ends the run with its first step", () => {
    const model = fromSnapshot(run([step(1, "main", null, [], "assigned")]));
    expect(runCompletedAt(model)).toBeNull();
    applyDeltas(model, [
      { delta: "execution_changed", execution_id: `${RUN}:1:1`, state: "failed", transition: { state: "failed", at: 300, session_id: null }, completed_at: 300 },
      { delta: "execution_changed", execution_id: `${RUN}:1:1`, outcome: { tag: "failed", error: { type: "ValueError", message: "no" } } },
    ]);
    expect(runState(model)).toBe("failed");
    expect(runCompletedAt(model)).toBe(300);
    expect(model.executions.get(`${RUN}:1:1`)?.outcome).toMatchObject({ tag: "failed" });
  });

  it("ignores changes of executions it does not hold, and passes log lines on", () => {
    const model = fromSnapshot(run([step(1, "main", null)]));
    const applied = applyDeltas(model, [
      { delta: "execution_changed", execution_id: "other:1:1", state: "failed", transition: { state: "failed", at: 1, session_id: null } },
      { delta: "logs_added", entries: [{ execution_id: `${RUN}:1:1`, timestamp: 1, level: "info", template: "mine" }] },
    ]);
    expect(applied.changed).toBe(false);
    expect(applied.logs.map((l) => l.template)).toEqual(["mine"]);
  });

  it("reads result dependencies from the execution ids inside arguments", () => {
    const model = fromSnapshot(
      run([
        step(1, "main", null),
        step(2, "load", `${RUN}:1:1`),
        step(3, "train", `${RUN}:1:1`, [value({ $: "execution", v: `${RUN}:2:1` }, [`${RUN}:2:1`, "elsewhere:4:1"])]),
      ]),
    );
    expect(model.steps.get(`${RUN}:3`)?.dependencies).toEqual([`${RUN}:2`]);
  });

  it("keeps the cf.group a step was called in, from a snapshot and from a live delta", () => {
    const model = fromSnapshot(groupRun(["succeeded"], null));
    expect(model.steps.get(`${RUN}:2`)?.group).toEqual({ index: 0 });
    expect(model.steps.get(`${RUN}:1`)?.group).toBeNull();
    applyDeltas(model, [{ delta: "step_added", step: newStep(3, { index: 1, name: "pages" }) }]);
    expect(model.steps.get(`${RUN}:3`)?.group).toEqual({ index: 1, name: "pages" });
  });

  it("counts timed-out steps apart from failed ones", () => {
    const model = fromSnapshot(groupRun(["timed_out", "failed", "abandoned", "assigned"]));
    expect(countSteps(model)).toEqual({ total: 5, active: 1, failed: 2, timedOut: 1 });
  });

  it("adds a re-run's execution to its step, latest attempt last", () => {
    const model = fromSnapshot(fanOut(1));
    applyDeltas(model, [
      { delta: "execution_added", step_id: `${RUN}:2`, execution: newExecution(`${RUN}:2`, 2, "production", 500) },
      { delta: "execution_changed", execution_id: `${RUN}:2:2`, state: "queued", transition: { state: "queued", at: 500, session_id: null } },
    ]);
    const rerun = model.steps.get(`${RUN}:2`)!;
    expect(rerun.executions.map((e) => e.attempt)).toEqual([1, 2]);
    expect(stepState(rerun)).toBe("queued");
  });

  it("keeps a stand-in's successor and the run's spawner, from a snapshot and from a change", () => {
    const view = run([step(1, "main", null), step(2, "square", `${RUN}:1:1`, [], "cached"), step(3, "child", `${RUN}:1:1`, [], "spawned")]);
    view.steps[1]!.executions[0]!.successor = "other:4:2";
    view.spawned_by = "parent:7:1";
    const model = fromSnapshot(view);
    expect(model.executions.get(`${RUN}:2:1`)?.successor).toBe("other:4:2");
    expect(model.executions.get(`${RUN}:1:1`)?.successor).toBeNull();
    expect(model.spawnedBy).toBe("parent:7:1");
    expect(fromSnapshot(run([step(1, "main", null)])).spawnedBy).toBeNull();

    const link: RunDelta = { delta: "execution_changed", execution_id: `${RUN}:3:1`, successor: "child1:1:1" };
    expect(applyDeltas(model, [link]).changed).toBe(true);
    expect(model.executions.get(`${RUN}:3:1`)?.successor).toBe("child1:1:1");
    const version = model.version;
    expect(applyDeltas(model, [link, { ...link, execution_id: "elsewhere:3:1" }]).changed).toBe(false);
    expect(model.version).toBe(version);
  });

  it("gives a new live execution no successor until a change says so", () => {
    const model = fromSnapshot(run([step(1, "main", null, [], "assigned")]));
    applyDeltas(model, liveDeltas());
    expect(model.executions.get(`${RUN}:2:1`)?.successor).toBeNull();
  });
});
