import { describe, expect, it } from "vitest";
import { groupRun, inGroup, RUN, run, step } from "../test/fixtures";
import { groupKeyOf, groupLabel, groupMembers, groupSummary, membersShowing, nextInState, tally } from "./groups";
import { fromSnapshot } from "./run";

describe("cf.groups", () => {
  it("names a group by its calling execution and its number there", () => {
    const model = fromSnapshot(
      run([
        step(1, "main", null),
        inGroup(step(2, "a", `${RUN}:1:1`), 0, "first"),
        inGroup(step(3, "b", `${RUN}:1:1`), 0, "first"),
        inGroup(step(4, "a", `${RUN}:1:1`), 1, "second"),
        // The caller's second attempt numbers its groups from 0 again: a new group.
        inGroup(step(5, "a", `${RUN}:1:2`), 0, "first"),
        step(6, "a", `${RUN}:1:1`),
      ]),
    );
    const key = (n: number) => groupKeyOf(model.steps.get(`${RUN}:${n}`)!);
    expect(key(2)).toBe(key(3));
    expect(new Set([key(2), key(4), key(5)]).size).toBe(3);
    expect(key(6)).toBeNull();
    expect(groupMembers(model, model.steps.get(`${RUN}:3`)!).map((s) => s.number)).toEqual([2, 3]);
    expect(groupMembers(model, model.steps.get(`${RUN}:6`)!)).toEqual([]);
  });

  it("labels a group with its name, or 'Group' when it has none", () => {
    expect(groupLabel(fromSnapshot(groupRun(["succeeded"], "chapters")).steps.get(`${RUN}:2`)!)).toBe("chapters");
    expect(groupLabel(fromSnapshot(groupRun(["succeeded"], null)).steps.get(`${RUN}:2`)!)).toBe("Group");
  });

  it("sums a group up as its size and every state but succeeded, most interesting first", () => {
    const model = fromSnapshot(groupRun([...Array(9).fill("succeeded"), "timed_out", "failed", "failed"]));
    const members = groupMembers(model, model.steps.get(`${RUN}:2`)!);
    expect(groupSummary(members)).toBe("12 steps · 2 failed · 1 timed out");
    expect(tally(members)).toEqual([
      ["failed", 2],
      ["timed_out", 1],
      ["succeeded", 9],
    ]);
    expect(groupSummary(members.slice(0, 1))).toBe("1 step");
  });

  it("finds the next member in a state, wrapping round", () => {
    const model = fromSnapshot(groupRun(["failed", "succeeded", "failed", "succeeded"]));
    const members = groupMembers(model, model.steps.get(`${RUN}:2`)!);
    expect(nextInState(members, 0, "failed")).toBe(2);
    expect(nextInState(members, 2, "failed")).toBe(0);
    expect(nextInState(members, 1, "timed_out")).toBeNull();
  });

  it("says which member each group must show for a step to be drawn", () => {
    const view = groupRun(["succeeded", "succeeded", "succeeded"]);
    view.steps.push(inGroup(step(5, "page", `${RUN}:3:1`), 0, "pages"));
    const model = fromSnapshot(view);
    const outer = groupKeyOf(model.steps.get(`${RUN}:3`)!)!;
    const inner = groupKeyOf(model.steps.get(`${RUN}:5`)!)!;
    expect(membersShowing(model, `${RUN}:5`)).toEqual([
      [inner, `${RUN}:5`],
      [outer, `${RUN}:3`],
    ]);
    expect(membersShowing(model, `${RUN}:1`)).toEqual([]);
  });
});
