// @vitest-environment happy-dom
import { act } from "preact/test-utils";
import { afterEach, describe, expect, it, vi } from "vitest";
import { mount } from "../test/mount";
import { RunPreview } from "./RunPreview";

const LISTED = [
  // A run whose arguments hold the id is found by the same search: not it.
  { id: "other", environment: "production", repository: "lab", target: "mentions", state: "succeeded", created_at: 1, completed_at: 2, cursor: "c1" },
  { id: "rbig", environment: "production", repository: "lab", target: "survey", state: "failed", created_at: 1, completed_at: 3, cursor: "c2" },
];

afterEach(() => vi.unstubAllGlobals());

async function settle(): Promise<void> {
  await act(async () => {
    await new Promise((resolve) => setTimeout(resolve, 0));
  });
}

describe("RunPreview", () => {
  it("shows the run's summary while its steps load, from a search by its id", async () => {
    const fetch = vi.fn(async () => new Response(JSON.stringify(LISTED), { status: 200 }));
    vi.stubGlobal("fetch", fetch);
    const root = mount(<RunPreview project="p1" runId="rbig" />);
    expect(root.textContent).toContain("Loading run…");
    await settle();
    const [path] = fetch.mock.calls[0] as unknown as [string];
    expect(path).toContain("/api/projects/p1/runs?search=rbig");
    expect(root.querySelector("h1")?.textContent).toBe("survey");
    expect(root.querySelector("[data-testid=run-preview]")?.textContent).toContain("lab · run rbig");
    expect(root.textContent).toContain("Loading its steps…");
  });

  it("shows only that it loads when the search does not find the run", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify([LISTED[0]]), { status: 200 })));
    const root = mount(<RunPreview project="p1" runId="rbig" />);
    await settle();
    expect(root.querySelector("h1")).toBeNull();
    expect(root.textContent).toContain("Loading run…");
  });
});
