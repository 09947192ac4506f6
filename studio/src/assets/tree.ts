/**
 * An asset's entries as a tree of folders: entry paths are split on "/", folders
 * listed before files, each level sorted by name. Pure, so the tree and what opens
 * by default are tested without a DOM.
 */

import type { AssetEntry } from "../api/types";

export interface FolderNode {
  kind: "folder";
  name: string;
  /** The folder's path in the asset ("" for the root). */
  path: string;
  children: TreeNode[];
  /** How many files are under it, at any depth. */
  fileCount: number;
  /** Their total size in bytes. */
  size: number;
}

export interface FileNode {
  kind: "file";
  name: string;
  path: string;
  entry: AssetEntry;
}

export type TreeNode = FolderNode | FileNode;

/** The tree of `entries` (the root folder, path ""). */
export function buildTree(entries: readonly AssetEntry[]): FolderNode {
  const root: FolderNode = { kind: "folder", name: "", path: "", children: [], fileCount: 0, size: 0 };
  const folders = new Map<string, FolderNode>([["", root]]);
  for (const entry of entries) {
    const parts = entry.path.split("/");
    let parent = root;
    const name = parts.pop() ?? entry.path;
    parts.forEach((part, depth) => {
      const path = parts.slice(0, depth + 1).join("/");
      let folder = folders.get(path);
      if (!folder) {
        folder = { kind: "folder", name: part, path, children: [], fileCount: 0, size: 0 };
        folders.set(path, folder);
        parent.children.push(folder);
      }
      parent = folder;
    });
    parent.children.push({ kind: "file", name, path: entry.path, entry });
  }
  count(root);
  return root;
}

function count(folder: FolderNode): void {
  folder.children.sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === "folder" ? -1 : 1));
  for (const child of folder.children) {
    if (child.kind === "folder") {
      count(child);
      folder.fileCount += child.fileCount;
      folder.size += child.size;
    } else {
      folder.fileCount += 1;
      folder.size += child.entry.size;
    }
  }
}

/** The folders open when a tree is first shown: every folder while the asset is
 * small, else only the top level's (so a large asset starts as a short list). */
export function initiallyOpen(root: FolderNode, smallFiles = 30): Set<string> {
  const open = new Set<string>();
  const walk = (folder: FolderNode) => {
    for (const child of folder.children) {
      if (child.kind === "folder") {
        open.add(child.path);
        walk(child);
      }
    }
  };
  if (root.fileCount <= smallFiles) walk(root);
  return open;
}

/** The rows a tree shows with the folders in `open` expanded, depth-first. */
export function visibleRows(root: FolderNode, open: ReadonlySet<string>): Array<{ node: TreeNode; depth: number }> {
  const rows: Array<{ node: TreeNode; depth: number }> = [];
  const walk = (folder: FolderNode, depth: number) => {
    for (const child of folder.children) {
      rows.push({ node: child, depth });
      if (child.kind === "folder" && open.has(child.path)) walk(child, depth + 1);
    }
  };
  walk(root, 0);
  return rows;
}
