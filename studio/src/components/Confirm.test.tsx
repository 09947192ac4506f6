// @vitest-environment happy-dom
import { act } from "preact/test-utils";
import { describe, expect, it, vi } from "vitest";
import { mount } from "../test/mount";
import { Confirm, plural } from "./Confirm";

function ask() {
  const onConfirm = vi.fn();
  const onDecline = vi.fn();
  const root = mount(
    <Confirm title="Cancel run?" confirmLabel="Yes, cancel the run" declineLabel="No, let it run" onConfirm={onConfirm} onDecline={onDecline}>
      <p>Cancel run R and its {plural(12, "unfinished step")}?</p>
    </Confirm>,
  );
  const dialog = root.querySelector("dialog")!;
  const button = (label: string) => [...dialog.querySelectorAll("button")].find((b) => b.textContent === label)!;
  return { dialog, button, onConfirm, onDecline };
}

describe("Confirm", () => {
  it("says what will happen, as an alert dialog described by its text", () => {
    const { dialog } = ask();
    expect(dialog.getAttribute("role")).toBe("alertdialog");
    expect(dialog.querySelector("#dialog-title")?.textContent).toBe("Cancel run?");
    const described = dialog.getAttribute("aria-describedby")!;
    expect(dialog.querySelector(`#${described}`)?.textContent).toBe("Cancel run R and its 12 unfinished steps?");
  });

  it("starts with focus on the safe choice", () => {
    const { button } = ask();
    expect(document.activeElement).toBe(button("No, let it run"));
  });

  it("acts only on Yes", () => {
    const { button, onConfirm, onDecline } = ask();
    act(() => button("Yes, cancel the run").click());
    expect(onConfirm).toHaveBeenCalledTimes(1);
    expect(onDecline).not.toHaveBeenCalled();
  });

  it("declines on No, on the close button and on Escape", () => {
    const { dialog, button, onConfirm, onDecline } = ask();
    act(() => button("No, let it run").click());
    act(() => (dialog.querySelector("button[aria-label=Close]") as HTMLButtonElement).click());
    act(() => {
      dialog.dispatchEvent(new Event("cancel", { cancelable: true })); // what Escape fires on a modal dialog
    });
    expect(onDecline).toHaveBeenCalledTimes(3);
    expect(onConfirm).not.toHaveBeenCalled();
  });

  it("counts in words", () => {
    expect(plural(1, "unfinished step")).toBe("1 unfinished step");
    expect(plural(0, "unfinished step")).toBe("0 unfinished steps");
    expect(plural(1200, "step")).toBe("1,200 steps");
  });
});
