import { describe, expect, it } from "vitest";
import cases from "./ids.cases.json";
import {
  attemptOf,
  buildExecutionId,
  buildStepId,
  parseExecution,
  parseStep,
  rootExecutionId,
  rootStepId,
  runIdOf,
  stepIdOf,
  stepNumberOf,
} from "./ids";

// The cases are shared with tests/unit/test_ids.py: Studio reads ids as the server does.

describe("ids", () => {
  it.each(cases.built)("builds and parses back $execution", ({ run, number, attempt, step, execution }) => {
    expect(buildStepId(run, number)).toBe(step);
    expect(buildExecutionId(step, attempt)).toBe(execution);
    expect(parseExecution(execution)).toEqual({ run, number, attempt });
    expect(parseStep(step)).toEqual({ run, number });
    expect(runIdOf(execution)).toBe(run);
    expect(stepIdOf(execution)).toBe(step);
    expect(stepNumberOf(execution)).toBe(number);
    expect(stepNumberOf(step)).toBe(number);
    expect(attemptOf(execution)).toBe(attempt);
  });

  it.each(cases.read)("reads the run and step of $id without checking it", ({ id, run, step }) => {
    expect(runIdOf(id)).toBe(run);
    expect(stepIdOf(id)).toBe(step);
  });

  it("names a run's first step and its first execution", () => {
    expect(rootStepId(cases.root.run)).toBe(cases.root.step);
    expect(rootExecutionId(cases.root.run)).toBe(cases.root.execution);
  });

  it.each(cases.not_executions)("refuses %j as an execution id", (id) => {
    expect(() => parseExecution(id)).toThrow(/is not an execution id/);
  });

  it.each(cases.not_steps)("refuses %j as a step id", (id) => {
    expect(() => parseStep(id)).toThrow(/is not a step id/);
  });

  it("has no step number or attempt for an id without them", () => {
    expect(stepNumberOf("r1")).toBeNaN();
    expect(stepNumberOf("r1:")).toBeNaN();
    expect(attemptOf("r1")).toBeNaN();
    expect(attemptOf("r1:2:")).toBeNaN();
  });
});
