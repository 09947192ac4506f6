/**
 * An asset's entries as a tree (a list of rows, indented; a folder's button says
 * whether it is expanded, as a disclosure does): folders collapse and expand (all open for a small
 * asset, the top level only for a large one), files open a preview. Only the rows of
 * open folders are drawn, at most `MAX_ROWS`, so a large asset stays quick.
 */

import type { ComponentChildren } from "preact";
import { useMemo, useState } from "preact/hooks";
import type { AssetEntry } from "../api/types";
import { formatBytes } from "../model/format";
import { buildTree, initiallyOpen, visibleRows } from "./tree";

const MAX_ROWS = 500;

interface Props {
  label: string;
  entries: AssetEntry[];
  selected: string | null;
  onSelect: (entry: AssetEntry) => void;
  actions: (entry: AssetEntry) => ComponentChildren;
}

export function AssetTree({ label, entries, selected, onSelect, actions }: Props) {
  const root = useMemo(() => buildTree(entries), [entries]);
  const [open, setOpen] = useState<Set<string>>(() => initiallyOpen(root));
  const rows = visibleRows(root, open);
  const toggle = (path: string) => {
    const next = new Set(open);
    if (next.has(path)) next.delete(path);
    else next.add(path);
    setOpen(next);
  };
  return (
    <ul class="asset-tree" aria-label={label}>
      {rows.slice(0, MAX_ROWS).map(({ node, depth }) => (
        <li
          key={node.path}
          data-path={node.path}
          class={`row asset-row${node.kind === "file" && node.path === selected ? " selected" : ""}`}
          style={{ paddingLeft: `${depth * 14}px` }}
        >
          {node.kind === "folder" ? (
            <>
              <button
                type="button"
                class="link-button mono asset-folder"
                onClick={() => toggle(node.path)}
                aria-expanded={open.has(node.path)}
                aria-label={`Folder ${node.path}`}
              >
                {open.has(node.path) ? "▾" : "▸"} {node.name}/
              </button>
              <span class="spacer" />
              <span class="faint">
                {node.fileCount} file{node.fileCount === 1 ? "" : "s"}, {formatBytes(node.size)}
              </span>
            </>
          ) : (
            <>
              <button
                type="button"
                class="link-button mono asset-file"
                onClick={() => onSelect(node.entry)}
                aria-pressed={node.path === selected}
                aria-label={`Preview ${node.path}`}
              >
                {node.name}
              </button>
              <span class="spacer" />
              <span class="faint">{formatBytes(node.entry.size)}</span>
              {actions(node.entry)}
            </>
          )}
        </li>
      ))}
      {rows.length > MAX_ROWS && <li class="faint">+ {rows.length - MAX_ROWS} more (collapse a folder to see the rest)</li>}
    </ul>
  );
}
