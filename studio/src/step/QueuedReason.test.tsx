// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from "vitest";
import { applyDeltas, fromSnapshot } from "../model/run";
import { RUN, run, step } from "../test/fixtures";
import { flush, mount } from "../test/mount";
import { QueuedReason } from "./QueuedReason";

const GPU = "no agent that hosts flows.render provides gpu=A100";

function queuedModel(reason: string | null) {
  const view = run([step(1, "main", null, [], "assigned"), step(2, "render", `${RUN}:1:1`, [], "queued")]);
  view.steps[1]!.executions[0]!.queued_reason = reason;
  return fromSnapshot(view);
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("QueuedReason", () => {
  it("says why a queued step waits, from the snapshot, then from the server's outline", async () => {
    const outline = { id: RUN, steps: [{ id: `${RUN}:2`, executions: [{ id: `${RUN}:2:1`, state: "queued", queued_reason: "every agent that can run it is full" }] }] };
    const fetch = vi.fn(async () => new Response(JSON.stringify(outline), { status: 200 }));
    vi.stubGlobal("fetch", fetch);
    const model = queuedModel(GPU);
    const execution = model.executions.get(`${RUN}:2:1`)!;
    const root = mount(<QueuedReason project="demo" runId={RUN} execution={execution} />);
    expect(root.querySelector("[data-testid=queued-reason]")?.textContent).toBe(`Queued: ${GPU}.`);
    await flush();
    await flush();
    expect(fetch).toHaveBeenCalledWith(`/api/projects/demo/runs/${RUN}/outline`, expect.objectContaining({ method: "GET" }));
    expect(root.querySelector("[data-testid=queued-reason]")?.textContent).toBe("Queued: every agent that can run it is full.");
  });

  it("shows nothing for a step that is not queued", () => {
    vi.stubGlobal("fetch", vi.fn());
    const model = queuedModel(null);
    const execution = model.executions.get(`${RUN}:1:1`)!;
    const root = mount(<QueuedReason project="demo" runId={RUN} execution={execution} />);
    expect(root.textContent).toBe("");
  });

  it("forgets the reason once the execution leaves the queue", () => {
    const model = queuedModel(GPU);
    const execution = model.executions.get(`${RUN}:2:1`)!;
    expect(execution.queuedReason).toBe(GPU);
    applyDeltas(model, [{ delta: "execution_changed", execution_id: execution.id, state: "assigned", transition: { state: "assigned", at: 200, session_id: "s" } }]);
    expect(execution.queuedReason).toBeNull();
  });
});
