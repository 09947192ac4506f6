import { describe, expect, it } from "vitest";
import type { AssetEntry } from "../api/types";
import { buildTree, initiallyOpen, visibleRows } from "./tree";

const entry = (path: string, size = 1): AssetEntry => ({ path, size, blob: "ab".repeat(32) });

const ENTRIES = [
  entry("report/table.csv", 10),
  entry("README"),
  entry("report/images/b.png", 100),
  entry("report/images/a.png", 200),
  entry("notes.md", 5),
];

describe("the tree of an asset's entries", () => {
  it("nests files in folders, folders first, each level by name, with counts and sizes", () => {
    const root = buildTree(ENTRIES);
    expect(root.children.map((c) => `${c.kind}:${c.path}`)).toEqual(["folder:report", "file:notes.md", "file:README"]);
    const report = root.children[0];
    if (report?.kind !== "folder") throw new Error("expected a folder");
    expect(report.children.map((c) => c.name)).toEqual(["images", "table.csv"]);
    expect([report.fileCount, report.size]).toEqual([3, 310]);
    expect([root.fileCount, root.size]).toEqual([5, 316]);
  });

  it("shows the rows of open folders only", () => {
    const root = buildTree(ENTRIES);
    const shown = (open: string[]) => visibleRows(root, new Set(open)).map((r) => `${"  ".repeat(r.depth)}${r.node.name}`);
    expect(shown([])).toEqual(["report", "notes.md", "README"]);
    expect(shown(["report"])).toEqual(["report", "  images", "  table.csv", "notes.md", "README"]);
    expect(shown(["report", "report/images"])).toEqual([
      "report",
      "  images",
      "    a.png",
      "    b.png",
      "  table.csv",
      "notes.md",
      "README",
    ]);
    // A closed parent hides an open child.
    expect(shown(["report/images"])).toEqual(["report", "notes.md", "README"]);
  });

  it("opens every folder of a small asset, none of a large one", () => {
    expect([...initiallyOpen(buildTree(ENTRIES))].sort()).toEqual(["report", "report/images"]);
    const many = Array.from({ length: 40 }, (_, i) => entry(`data/part-${i}.csv`));
    expect(initiallyOpen(buildTree(many)).size).toBe(0);
  });

  it("keeps a file at the top level when its path has no folder", () => {
    const root = buildTree([entry("a.txt")]);
    expect(root.children).toMatchObject([{ kind: "file", name: "a.txt", path: "a.txt" }]);
  });
});
