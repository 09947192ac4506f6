// @vitest-environment happy-dom
import { act } from "preact/test-utils";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { TargetDefinition } from "../api/types";
import { flush, mount } from "../test/mount";
import { RunForm } from "./RunForm";

const GUEST = {
  type: "object",
  title: "Guest",
  properties: { name: { type: "string", title: "Name" }, age: { type: "integer", title: "Age" } },
  required: ["name", "age"],
};

const BOOK: TargetDefinition = {
  name: "book",
  type: "workflow",
  parameters: [
    { name: "nights", annotation: "int", schema: { type: "integer" } },
    { name: "breakfast", annotation: "bool", schema: { type: "boolean" } },
    { name: "room", annotation: "Literal['single', 'double']", schema: { enum: ["single", "double"] } },
    { name: "arrival", annotation: "dt.date", schema: { type: "string", format: "date" } },
    { name: "guest", annotation: "Guest", schema: GUEST },
    { name: "note", annotation: "str", default: "'none'", schema: { type: "string" } },
  ],
} as TargetDefinition;

function serve(status: number, body: unknown) {
  const fetch = vi.fn(async () => new Response(JSON.stringify(body), { status }));
  vi.stubGlobal("fetch", fetch);
  return fetch;
}

function sent(fetch: ReturnType<typeof serve>): { path: string; body: { arguments: Array<{ data: unknown }>; target: string } } {
  const [path, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
  return { path, body: JSON.parse(init.body as string) };
}

function type(root: HTMLElement, name: string, text: string) {
  const element = root.querySelector<HTMLInputElement | HTMLSelectElement>(`[name="${name}"]`)!;
  act(() => {
    element.value = text;
    element.dispatchEvent(new Event(element instanceof HTMLSelectElement ? "change" : "input", { bubbles: true }));
  });
}

function check(root: HTMLElement, name: string) {
  act(() => {
    root.querySelector<HTMLInputElement>(`[name="${name}"]`)!.click();
  });
}

const submit = (root: HTMLElement) =>
  act(() => {
    root.querySelector("form")!.dispatchEvent(new Event("submit", { cancelable: true }));
  });

const errorsShown = (root: HTMLElement) => [...root.querySelectorAll(".field-error")].map((e) => e.textContent);

function form(target = BOOK, onSensorStarted = vi.fn()) {
  const root = mount(<RunForm project="demo" environment="production" repository="forms" target={target} onClose={() => {}} onSensorStarted={onSensorStarted} />);
  return { root, onSensorStarted };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("the Run… form", () => {
  it("draws each parameter as its kind of field, the model's as nested fields", () => {
    const { root } = form();
    const control = (name: string) => root.querySelector<HTMLInputElement>(`[name="${name}"]`)!;
    expect(control("nights").getAttribute("inputmode")).toBe("numeric");
    expect(control("breakfast").type).toBe("checkbox");
    expect(control("room").tagName).toBe("SELECT");
    expect(control("arrival").type).toBe("date");
    expect(root.querySelector("fieldset legend")?.textContent).toBe("guest");
    expect(control("guest.age").getAttribute("inputmode")).toBe("numeric");
    expect(control("note").value).toBe("none"); // the default, filled in
  });

  it("refuses wrong values before sending, then sends the run's arguments as JSON", async () => {
    const fetch = serve(201, { run_id: "R1", created: true });
    const { root } = form();
    type(root, "nights", "two");
    type(root, "arrival", "2026-12-03");
    type(root, "guest.name", "Ada");
    type(root, "guest.age", "36.5");
    submit(root);
    await flush();
    expect(fetch).not.toHaveBeenCalled();
    expect(errorsShown(root)).toEqual(["Enter a whole number.", "Choose one.", "Enter a whole number."]);

    type(root, "nights", "2");
    check(root, "breakfast");
    type(root, "room", "1");
    type(root, "guest.age", "36");
    submit(root);
    await flush();
    const { path, body } = sent(fetch);
    expect(path).toBe("/api/projects/demo/runs");
    expect(body.target).toBe("book");
    // The untouched default is left out, as a submission without it would be.
    expect(body.arguments.map((a) => a.data)).toEqual([2, true, "double", "2026-12-03", { name: "Ada", age: 36 }]);
  });

  it("shows the server's refusal at the field it names", async () => {
    serve(400, { error: { reason: "invalid_argument", message: "argument 'guest' (arguments[4]) of book at age: must be at least 18" } });
    const { root } = form();
    type(root, "nights", "1");
    type(root, "room", "0");
    type(root, "arrival", "2026-12-03");
    type(root, "guest.name", "Tim");
    type(root, "guest.age", "9");
    submit(root);
    await flush();
    const age = root.querySelector('[data-path="guest.age"]')!;
    expect(age.querySelector(".field-error")?.textContent).toContain("must be at least 18");
  });
});

describe("the Start… form of a sensor", () => {
  it("starts the sensor with the arguments and reports its id", async () => {
    const fetch = serve(201, { sensor_id: "S1" });
    const sensor = {
      name: "doorbell",
      type: "sensor",
      parameters: [
        { name: "door", schema: { enum: ["front", "back"] } },
        { name: "every", annotation: "float", default: "0.2", schema: { type: "number" } },
      ],
    } as TargetDefinition;
    const { root, onSensorStarted } = form(sensor);
    expect([...root.querySelectorAll("button")].map((b) => b.textContent)).toContain("Start sensor");
    type(root, "door", "1");
    type(root, "every", "1.5");
    submit(root);
    await flush();
    const { path, body } = sent(fetch);
    expect(path).toBe("/api/projects/demo/sensors");
    expect(body.arguments.map((a) => a.data)).toEqual(["back", 1.5]);
    expect(onSensorStarted).toHaveBeenCalledWith("S1");
  });
});
