import { afterEach, describe, expect, it } from "vitest";
import { isMissing, overallStatus, reportRefusal, reportStatus } from "./connection";

const owners: object[] = [];
function owner(): object {
  const o = {};
  owners.push(o);
  return o;
}

afterEach(() => {
  for (const o of owners.splice(0)) reportStatus(o, null);
});

describe("the header's connection state", () => {
  it("is the worst of the subscriptions open", () => {
    const project = owner();
    const run = owner();
    reportStatus(project, "live");
    reportStatus(run, "reconnecting");
    expect(overallStatus.value).toBe("reconnecting");
    reportStatus(run, "live");
    expect(overallStatus.value).toBe("live");
  });

  it("stays live when a page's run does not exist (a 404 is not a disconnection)", () => {
    const project = owner();
    const run = owner();
    reportStatus(project, "live");
    // What api/live.ts reports for a refused subscription, then its error.
    reportStatus(run, "failed");
    reportRefusal(run, { reason: "unknown_run", message: "run r9 does not exist" });
    expect(overallStatus.value).toBe("live");
  });

  it("is not failed for a missing project either", () => {
    const project = owner();
    reportStatus(project, "connecting");
    reportStatus(project, "failed");
    reportRefusal(project, { reason: "unknown_project", message: "project 'nope' does not exist" });
    expect(overallStatus.value).not.toBe("failed");
  });

  it("fails on a refusal the server could not serve", () => {
    const project = owner();
    const run = owner();
    reportStatus(project, "live");
    reportStatus(run, "failed");
    reportRefusal(run, { reason: "project_unavailable", message: "project test is unavailable: disk" });
    expect(overallStatus.value).toBe("failed");
  });

  it("tells missing objects from other refusals by the server's reason", () => {
    for (const reason of ["unknown_run", "unknown_project", "unknown_environment"]) expect(isMissing({ reason, message: "" })).toBe(true);
    for (const reason of ["project_unavailable", "bad_subscription", "unauthorised", "error"]) expect(isMissing({ reason, message: "" })).toBe(false);
  });
});
