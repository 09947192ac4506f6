// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ProjectInfo } from "../api/types";
import { flush, mount } from "../test/mount";
import { ProjectsPage } from "./ProjectsPage";

function serve(projects: ProjectInfo[]) {
  vi.stubGlobal(
    "fetch",
    vi.fn(async () => new Response(JSON.stringify(projects), { status: 200 })),
  );
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("ProjectsPage", () => {
  it("shows an unavailable project as such, with the reason, and no link into it", async () => {
    serve([
      { id: "p1", name: "demo", created_at: 1700000000, status: "ok", error: null },
      {
        id: "junk",
        name: "junk",
        created_at: 1700000100,
        status: "unavailable",
        error: "its database junk.sqlite could not be opened (file is not a database)",
      },
      { id: "p2", name: "old", created_at: 1700000200 }, // an older server: no status
    ]);
    const root = mount(<ProjectsPage />);
    await flush();
    await flush();
    const row = (id: string) => root.querySelector(`tr[data-project="${id}"]`)!;
    expect(row("junk").getAttribute("data-status")).toBe("unavailable");
    expect(row("junk").textContent).toContain("unavailable");
    expect(row("junk").textContent).toContain("junk.sqlite could not be opened (file is not a database)");
    expect(row("junk").querySelector("a")).toBeNull();
    for (const id of ["p1", "p2"]) {
      expect(row(id).getAttribute("data-status")).toBe("ok");
      expect(row(id).querySelector("a")?.getAttribute("href")).toContain("/projects/");
      expect(row(id).textContent).not.toContain("unavailable");
    }
  });
});
