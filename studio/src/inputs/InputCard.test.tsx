// @vitest-environment happy-dom
import { act } from "preact/test-utils";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { InputView } from "../api/types";
import type { InputsSource } from "../live/inputs";
import { session } from "../signin/session";
import { RUN, value } from "../test/fixtures";
import { flush, mount } from "../test/mount";
import { emptyInputBook } from "./book";
import { InputCard } from "./InputCard";

const LABEL = {
  type: "object",
  properties: {
    sentiment: { enum: ["positive", "neutral", "negative"], title: "Sentiment", type: "string" },
    confidence: { maximum: 5, minimum: 1, title: "Confidence", type: "integer" },
    notes: { anyOf: [{ type: "string" }, { type: "null" }], default: null, title: "Notes" },
  },
  required: ["sentiment", "confidence"],
};

function input(overrides: Partial<InputView> = {}): InputView {
  return {
    id: "in1",
    execution_id: `${RUN}:2:1`,
    run_id: RUN,
    environment: "production",
    key: "k",
    title: "Label",
    template: "Label this feedback:\n\n{text}",
    placeholders: { text: value("Shipping was slow") },
    schema: LABEL,
    initial: { sentiment: "neutral" },
    actions: null,
    requires: {},
    created_at: 100,
    status: "pending",
    responded_at: null,
    responded_by: null,
    response: null,
    ...overrides,
  };
}

function source(): InputsSource & { settled: InputView[] } {
  const settled: InputView[] = [];
  return { book: emptyInputBook(), missing: false, settle: (view) => settled.push(view), settled };
}

function card(view: InputView, src = source()) {
  return { root: mount(<InputCard project="demo" input={view} source={src} />), src };
}

function type(root: HTMLElement, name: string, text: string) {
  const element = root.querySelector<HTMLInputElement | HTMLSelectElement>(`[name="${name}"]`)!;
  act(() => {
    element.value = text;
    element.dispatchEvent(new Event(element instanceof HTMLSelectElement ? "change" : "input", { bubbles: true }));
    element.dispatchEvent(new Event("blur"));
  });
}

function serve(status: number, body: unknown) {
  const fetch = vi.fn(async () => new Response(JSON.stringify(body), { status }));
  vi.stubGlobal("fetch", fetch);
  return fetch;
}

function sent(fetch: ReturnType<typeof serve>, call = 0): { path: string; body: unknown } {
  const [path, init] = fetch.mock.calls[call] as unknown as [string, RequestInit];
  return { path, body: init.body ? JSON.parse(init.body as string) : undefined };
}

const button = (root: HTMLElement, label: string) => [...root.querySelectorAll("button")].find((b) => b.textContent === label)!;
const submit = (root: HTMLElement) =>
  act(() => {
    root.querySelector("form")!.dispatchEvent(new Event("submit", { cancelable: true }));
  });

afterEach(() => {
  vi.unstubAllGlobals();
  session.state.set({ phase: "checking" });
});

describe("InputCard", () => {
  it("shows the prompt with its values and the form prefilled from initial", () => {
    const { root } = card(input());
    expect(root.querySelector(".input-prompt")?.textContent).toBe("Label this feedback:Shipping was slow");
    expect(root.querySelector<HTMLSelectElement>("[name=sentiment]")?.selectedOptions[0]?.textContent).toBe("neutral");
    expect(root.querySelector<HTMLInputElement>("[name=confidence]")?.value).toBe("");
    expect(root.textContent).toContain("A whole number from 1 to 5.");
  });

  it("refuses an invalid answer in place, sending nothing, then sends the fixed one", async () => {
    const fetch = serve(200, input({ status: "responded", responded_by: "admin", responded_at: 200, response: { sentiment: "neutral", confidence: 4, notes: null } }));
    const { root, src } = card(input());
    type(root, "confidence", "9");
    expect(root.querySelector('[data-path="confidence"] .field-error')?.textContent).toBe("Must be at most 5.");
    submit(root);
    await flush();
    expect(fetch).not.toHaveBeenCalled();
    expect(root.querySelector("[name=confidence]")?.getAttribute("aria-invalid")).toBe("true");

    type(root, "confidence", "4");
    expect(root.querySelector(".field-error")).toBeNull();
    submit(root);
    await flush();
    expect(sent(fetch)).toEqual({ path: "/api/projects/demo/inputs/in1/respond", body: { value: { sentiment: "neutral", confidence: 4, notes: null } } });
    expect(src.settled.map((v) => v.status)).toEqual(["responded"]);
  });

  it("shows the server's refusal at the field it names", async () => {
    serve(400, { error: { reason: "invalid_input", message: "input in1 at confidence: 4 is not one of [1, 2]" } });
    const { root, src } = card(input());
    type(root, "confidence", "4");
    submit(root);
    await flush();
    await flush();
    expect(root.querySelector('[data-path="confidence"] .field-error')?.textContent).toBe("input in1 at confidence: 4 is not one of [1, 2]");
    expect(src.settled).toEqual([]);
    // Editing clears it (the next submit asks the server again).
    type(root, "confidence", "2");
    expect(root.querySelector('[data-path="confidence"] .field-error')).toBeNull();
  });

  it("answers an approval with its action labels, and dismisses", async () => {
    const fetch = serve(200, input({ schema: null, status: "dismissed" }));
    const { root } = card(input({ schema: null, actions: ["Deploy", "Hold"] }));
    expect(root.querySelector("form")).toBeNull();
    act(() => button(root, "Hold").click());
    act(() => button(root, "Yes, hold").click()); // dismissing asks first
    await flush();
    expect(sent(fetch).path).toBe("/api/projects/demo/inputs/in1/dismiss");
    act(() => button(root, "Deploy").click());
    await flush();
    expect(sent(fetch, 1)).toEqual({ path: "/api/projects/demo/inputs/in1/respond", body: { value: null } });
  });

  it("says who answered and when, and shows the answer", () => {
    const { root } = card(input({ status: "responded", responded_by: "token t1", responded_at: 200, response: { sentiment: "positive", confidence: 5 } }));
    expect(root.querySelector("form")).toBeNull();
    const outcome = root.querySelector("[data-testid=input-outcome]")!;
    expect(outcome.textContent).toMatch(/^Answered by token t1 at \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\./);
    expect(outcome.querySelector("[aria-label=Answer]")?.textContent).toContain('"positive"');
    expect(card(input({ status: "dismissed", responded_by: "admin", responded_at: 200 })).root.textContent).toContain("Dismissed by admin at");
  });

  it("offers no controls to a read-only token, or one for other environments", () => {
    const token = { id: "t1", project: "p1", environments: null, read_only: true, description: "", created_at: 1, revoked_at: null };
    session.state.set({ phase: "signed-in", identity: { admin: false, token, projectName: "demo" } });
    let root = card(input()).root;
    expect(root.querySelector("form, button")).toBeNull();
    expect(root.textContent).toContain("yours can only read");
    session.state.set({ phase: "signed-in", identity: { admin: false, token: { ...token, read_only: false, environments: ["staging"] }, projectName: "demo" } });
    root = card(input()).root;
    expect(root.querySelector("form")).toBeNull();
    session.state.set({ phase: "signed-in", identity: { admin: false, token: { ...token, read_only: false, environments: ["production"] }, projectName: "demo" } });
    root = card(input()).root;
    expect(root.querySelector("form")).not.toBeNull();
  });
});
