// @vitest-environment happy-dom
/**
 * Destructive actions ask first through the one `Confirm` dialog: stopping a
 * sensor, dismissing an input, archiving an environment. Each sends nothing until
 * "Yes", and nothing at all after "No".
 */
import { act } from "preact/test-utils";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Fact, InputView } from "../api/types";
import { InputCard } from "../inputs/InputCard";
import { emptyInputBook } from "../inputs/book";
import type { ProjectLive, ProjectState } from "../live/project";
import { Observable } from "../live/store";
import { fromViews } from "../model/environments";
import { session } from "../signin/session";
import { RUN } from "../test/fixtures";
import { flush, mount } from "../test/mount";
import { ProjectPage } from "./ProjectPage";
import { TargetPage } from "./TargetPage";

const SENSOR = { id: "s1", repository: "flows", target: "door", execution_id: "s1:1:1", state: "assigned", arguments: [] };
const MANIFEST = { repository: "flows", targets: [{ name: "door", type: "sensor", parameters: [] }] };
const ENVIRONMENT = { id: "e1", name: "staging", base: null, status: "active", created_at: 1, updated_at: 1 };

/** The server's answers by path; every request is recorded. */
function serve(): Array<{ method: string; path: string }> {
  const requests: Array<{ method: string; path: string }> = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init: RequestInit = {}) => {
      const path = new URL(url, "http://studio").pathname;
      requests.push({ method: init.method ?? "GET", path });
      const body = path.endsWith("/manifests")
        ? [MANIFEST]
        : path.endsWith("/sensors")
          ? [SENSOR]
          : path.endsWith("/stop")
            ? { cancelled: ["s1:1:1"] }
            : path.endsWith("/archive")
              ? { ...ENVIRONMENT, status: "archived" }
              : path.endsWith("/activity")
                ? { environments: [] }
                : [];
      return new Response(JSON.stringify(body), { status: 200 });
    }),
  );
  return requests;
}

function fakeLive(): ProjectLive {
  const state = new Observable<ProjectState>({ envs: fromViews([ENVIRONMENT] as never), status: "live", error: null, generation: 1 });
  return {
    project: "demo",
    state,
    envName: () => "staging",
    envByName: () => undefined,
    onFactsListen: (_: (facts: Fact[]) => void) => () => undefined,
  } as unknown as ProjectLive;
}

const buttons = (root: ParentNode, label: string) => [...root.querySelectorAll("button")].filter((b) => b.textContent === label || b.getAttribute("aria-label") === label);
const button = (root: ParentNode, label: string) => buttons(root, label)[0]!;
const posts = (requests: Array<{ method: string; path: string }>) => requests.filter((r) => r.method === "POST").map((r) => r.path);
const question = (root: ParentNode) => root.querySelector<HTMLDialogElement>('dialog[role="alertdialog"]');

afterEach(() => {
  vi.unstubAllGlobals();
  session.state.set({ phase: "checking" });
});

describe("stopping a sensor", () => {
  it("asks first, and only Yes stops it", async () => {
    const requests = serve();
    const root = mount(<TargetPage live={fakeLive()} environment="staging" repository="flows" target="door" />);
    await flush();
    await flush();
    act(() => button(root, "Stop sensor s1").click());
    expect(question(root)?.textContent).toContain("Stop sensor s1 (door in staging)?");
    act(() => button(question(root)!, "No, keep it running").click());
    expect(question(root)).toBeNull();
    expect(posts(requests)).toEqual([]);

    act(() => button(root, "Stop sensor s1").click());
    act(() => button(question(root)!, "Yes, stop the sensor").click());
    await flush();
    expect(posts(requests)).toEqual(["/api/projects/demo/sensors/s1/stop"]);
    expect(root.querySelector("table[aria-label='Running door sensors']")).toBeNull();
  });
});

function pending(overrides: Partial<InputView>): InputView {
  const base: InputView = {
    id: "in1",
    execution_id: `${RUN}:2:1`,
    run_id: RUN,
    environment: "production",
    key: "k",
    title: "Deployment",
    template: "Deploy?",
    placeholders: {},
    schema: null,
    initial: null,
    actions: ["Deploy", "Hold"],
    requires: {},
    created_at: 100,
    status: "pending",
    responded_at: null,
    responded_by: null,
    response: null,
  };
  return { ...base, ...overrides };
}

describe("dismissing an input", () => {
  const source = () => ({ book: emptyInputBook(), missing: false, settle: vi.fn() });

  it("asks first with the prompt's own label; No sends nothing", async () => {
    const requests = serve();
    const root = mount(<InputCard project="demo" input={pending({})} source={source()} />);
    act(() => button(root, "Hold").click());
    const dialog = question(root)!;
    expect(dialog.querySelector("h2")?.textContent).toBe("Hold?");
    expect(dialog.textContent).toContain("Hold “Deployment” without an answer?");
    act(() => button(dialog, "No, leave it waiting").click());
    await flush();
    expect(question(root)).toBeNull();
    expect(posts(requests)).toEqual([]);

    act(() => button(root, "Hold").click());
    act(() => button(question(root)!, "Yes, hold").click());
    await flush();
    expect(posts(requests)).toEqual(["/api/projects/demo/inputs/in1/dismiss"]);
  });

  it("asks too from a form's Dismiss", async () => {
    const requests = serve();
    const schema = { type: "object", properties: { note: { type: "string", title: "Note" } }, required: [] };
    const root = mount(<InputCard project="demo" input={pending({ schema, actions: null })} source={source()} />);
    act(() => button(root, "Dismiss").click());
    expect(posts(requests)).toEqual([]);
    act(() => button(question(root)!, "Yes, dismiss").click());
    await flush();
    expect(posts(requests)).toEqual(["/api/projects/demo/inputs/in1/dismiss"]);
  });
});

describe("archiving an environment", () => {
  it("asks in the shared dialog, over the Manage dialog", async () => {
    const requests = serve();
    const root = mount(<ProjectPage live={fakeLive()} />);
    await flush();
    act(() => button(root, "Manage staging").click());
    act(() => button(root, "Archive…").click());
    const dialog = question(root)!;
    expect(dialog.textContent).toContain("Archive environment staging?");
    act(() => button(dialog, "No, keep it").click());
    expect(question(root)).toBeNull();
    expect(posts(requests)).toEqual([]);

    act(() => button(root, "Archive…").click());
    act(() => button(question(root)!, "Yes, archive it").click());
    await flush();
    expect(posts(requests)).toEqual(["/api/projects/demo/environments/staging/archive"]);
  });
});
