// @vitest-environment happy-dom
import { act } from "preact/test-utils";
import { describe, expect, it } from "vitest";
import type { AssetEntry } from "../api/types";
import { mount } from "../test/mount";
import { AssetTree } from "./AssetTree";

const entry = (path: string): AssetEntry => ({ path, size: 3, blob: "ab".repeat(32) });

function names(root: HTMLElement): string[] {
  return [...root.querySelectorAll("li button")].map((b) => b.textContent ?? "");
}

describe("the asset tree", () => {
  it("collapses and expands folders, and opens a file's preview", () => {
    const chosen: string[] = [];
    const root = mount(
      <AssetTree
        label="Files"
        entries={[entry("data/a.csv"), entry("data/sub/b.txt"), entry("top.md")]}
        selected={null}
        onSelect={(e) => chosen.push(e.path)}
        actions={() => null}
      />,
    );
    expect(names(root)).toEqual(["▾ data/", "▾ sub/", "b.txt", "a.csv", "top.md"]);
    const folder = root.querySelector<HTMLButtonElement>('[aria-label="Folder data"]')!;
    act(() => folder.click());
    expect(names(root)).toEqual(["▸ data/", "top.md"]);
    expect(folder.getAttribute("aria-expanded")).toBe("false");
    act(() => folder.click());
    expect(names(root)).toContain("a.csv");
    act(() => root.querySelector<HTMLButtonElement>('[aria-label="Preview data/a.csv"]')!.click());
    expect(chosen).toEqual(["data/a.csv"]);
  });
});
