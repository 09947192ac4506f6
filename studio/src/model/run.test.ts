import { describe, expect, it } from "vitest";
import type { Fact } from "../api/types";
import { fanOut, groupRun, RUN, run, step, value } from "../test/fixtures";
import { applyFacts, countSteps, fromSnapshot, runCompletedAt, runState, stepState } from "./run";

const names = (id: string) => ({ env1: "production", env2: "staging" })[id] ?? id;

function liveFacts(): Fact[] {
  return [
    {
      fact: "step",
      step_id: `${RUN}:2`,
      run_id: RUN,
      number: 2,
      parent_execution_id: `${RUN}:1:1`,
      call_index: 0,
      repository: "flows",
      target: "square",
      type: "task",
      arguments: [value(3)],
      options: { memo: [0] },
      at: 200,
    },
    { fact: "execution", execution_id: `${RUN}:2:1`, step_id: `${RUN}:2`, run_id: RUN, attempt: 1, environment_id: "env2", due_at: 200, at: 200 },
    { fact: "transition", execution_id: `${RUN}:2:1`, run_id: RUN, state: "queued", session_id: null, at: 200 },
    { fact: "transition", execution_id: `${RUN}:2:1`, run_id: RUN, state: "assigned", session_id: "s1", at: 201 },
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

  it("applies facts: a new step, its execution and its transitions", () => {
    const model = fromSnapshot(run([step(1, "main", null, [], "assigned")]));
    const applied = applyFacts(model, liveFacts(), names);
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

  it("is unchanged by facts applied twice (they may repeat across a snapshot)", () => {
    const model = fromSnapshot(run([step(1, "main", null, [], "assigned")]));
    applyFacts(model, liveFacts(), names);
    const version = model.version;
    const again = applyFacts(model, liveFacts(), names);
    expect(again.changed).toBe(false);
    expect(model.version).toBe(version);
    expect(model.executions.get(`${RUN}:2:1`)?.transitions).toHaveLength(2);
    expect(model.order).toHaveLength(2);
  });

  it("records outcomes and ends the run with its first step", () => {
    const model = fromSnapshot(run([step(1, "main", null, [], "assigned")]));
    expect(runCompletedAt(model)).toBeNull();
    applyFacts(
      model,
      [
        { fact: "transition", execution_id: `${RUN}:1:1`, run_id: RUN, state: "failed", session_id: null, at: 300 },
        { fact: "outcome", execution_id: `${RUN}:1:1`, run_id: RUN, outcome: { tag: "failed", error: { type: "ValueError", message: "no" } }, at: 300 },
      ],
      names,
    );
    expect(runState(model)).toBe("failed");
    expect(runCompletedAt(model)).toBe(300);
    expect(model.executions.get(`${RUN}:1:1`)?.outcome).toMatchObject({ tag: "failed" });
  });

  it("ignores facts about other runs, and keeps this run's log lines", () => {
    const model = fromSnapshot(run([step(1, "main", null)]));
    const applied = applyFacts(
      model,
      [
        { fact: "transition", execution_id: "other:1:1", run_id: "other", state: "failed", session_id: null, at: 1 },
        {
          fact: "logs",
          entries: [
            { execution_id: `${RUN}:1:1`, timestamp: 1, level: "info", template: "mine" },
            { execution_id: "other:1:1", timestamp: 1, level: "info", template: "theirs" },
          ],
          run_ids: [RUN, "other"],
        },
      ],
      names,
    );
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

  it("keeps the cf.group a step was called in, from a snapshot and from a live fact", () => {
    const model = fromSnapshot(groupRun(["succeeded"], null));
    expect(model.steps.get(`${RUN}:2`)?.group).toEqual({ index: 0 });
    expect(model.steps.get(`${RUN}:1`)?.group).toBeNull();
    const [created] = liveFacts();
    applyFacts(model, [{ ...(created as Fact & { fact: "step" }), step_id: `${RUN}:3`, number: 3, group: { index: 1, name: "pages" } }], names);
    expect(model.steps.get(`${RUN}:3`)?.group).toEqual({ index: 1, name: "pages" });
  });

  it("counts timed-out steps apart from failed ones", () => {
    const model = fromSnapshot(groupRun(["timed_out", "failed", "abandoned", "assigned"]));
    expect(countSteps(model)).toEqual({ total: 5, active: 1, failed: 2, timedOut: 1 });
  });

  it("adds a re-run's execution to its step, latest attempt last", () => {
    const model = fromSnapshot(fanOut(1));
    applyFacts(
      model,
      [
        { fact: "execution", execution_id: `${RUN}:2:2`, step_id: `${RUN}:2`, run_id: RUN, attempt: 2, environment_id: "env1", due_at: 500, at: 500 },
        { fact: "transition", execution_id: `${RUN}:2:2`, run_id: RUN, state: "queued", session_id: null, at: 500 },
      ],
      names,
    );
    const rerun = model.steps.get(`${RUN}:2`)!;
    expect(rerun.executions.map((e) => e.attempt)).toEqual([1, 2]);
    expect(stepState(rerun)).toBe("queued");
  });

  it("keeps a stand-in's successor and the run's spawner, from a snapshot and from a link fact", () => {
    const view = run([step(1, "main", null), step(2, "square", `${RUN}:1:1`, [], "cached"), step(3, "child", `${RUN}:1:1`, [], "spawned")]);
    view.steps[1]!.executions[0]!.successor = "other:4:2";
    view.spawned_by = "parent:7:1";
    const model = fromSnapshot(view);
    expect(model.executions.get(`${RUN}:2:1`)?.successor).toBe("other:4:2");
    expect(model.executions.get(`${RUN}:1:1`)?.successor).toBeNull();
    expect(model.spawnedBy).toBe("parent:7:1");
    expect(fromSnapshot(run([step(1, "main", null)])).spawnedBy).toBeNull();

    const link: Fact = { fact: "link", execution_id: `${RUN}:3:1`, run_id: RUN, leader_id: "child1:1:1", at: 300 };
    expect(applyFacts(model, [link], names).changed).toBe(true);
    expect(model.executions.get(`${RUN}:3:1`)?.successor).toBe("child1:1:1");
    const version = model.version;
    expect(applyFacts(model, [link, { ...link, run_id: "elsewhere" }], names).changed).toBe(false);
    expect(model.version).toBe(version);
  });

  it("gives a new live execution no successor until a link fact says so", () => {
    const model = fromSnapshot(run([step(1, "main", null, [], "assigned")]));
    applyFacts(model, liveFacts(), names);
    expect(model.executions.get(`${RUN}:2:1`)?.successor).toBeNull();
  });
});
