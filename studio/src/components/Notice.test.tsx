// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import { mount } from "../test/mount";
import { RefusalNotice } from "./Notice";

describe("RefusalNotice", () => {
  it("says what is missing and where, as a plain notice, not an alert", () => {
    const root = mount(<RefusalNotice error={{ reason: "unknown_run", message: "run r9 does not exist" }} what="Run" name="r9" project="shop" />);
    const notice = root.querySelector("[data-testid=missing]")!;
    expect(notice.textContent).toBe("Run r9 does not exist in project shop.");
    expect(notice.getAttribute("role")).toBe("status");
    expect(root.querySelector("[role=alert]")).toBeNull();
  });

  it("names a missing project without a place", () => {
    const root = mount(<RefusalNotice error={{ reason: "unknown_project", message: "project 'nope' does not exist" }} what="Project" name="nope" />);
    expect(root.textContent).toBe("Project nope does not exist.");
  });

  it("shows the server's message for anything else, as an error", () => {
    const root = mount(<RefusalNotice error={{ reason: "project_unavailable", message: "project shop is unavailable: disk full" }} what="Run" name="r9" project="shop" />);
    expect(root.querySelector("[role=alert]")?.textContent).toBe("project shop is unavailable: disk full");
  });
});
