/**
 * An input prompt's text: its template as Markdown (`markdown.ts`, rendered as
 * elements, never as HTML) with its placeholders' values in it (`template.ts`):
 * inline ones as a log line shows them, block ones as the step panel shows values
 * (`ValueView`: nested values laid out, stored values loaded on request, execution
 * references linked).
 */

import type { ComponentChildren } from "preact";
import { useMemo } from "preact/hooks";
import type { Value } from "../api/types";
import { ValueView, type ValueLinks } from "../components/ValueView";
import { toDisplay } from "../model/values";
import { type Block, type Inline, parseMarkdown } from "./markdown";
import { fillTemplate, inlineText, type Slot, slotMarker, splitSlots } from "./template";

interface Props {
  template: string;
  placeholders: Record<string, Value> | null;
  links?: ValueLinks | undefined;
}

export function Prompt({ template, placeholders, links }: Props) {
  const { blocks, slots } = useMemo(() => {
    const filled = fillTemplate(template, placeholders);
    return { blocks: parseMarkdown(filled.source), slots: filled.slots };
  }, [template, placeholders]);
  const context: Context = { slots, links };
  return <div class="input-prompt">{renderBlocks(blocks, context, false)}</div>;
}

interface Context {
  slots: Slot[];
  links: ValueLinks | undefined;
}

/** Text with the slots' values in it; in code, as plain text. */
function withSlots(text: string, context: Context, code = false): ComponentChildren[] {
  return splitSlots(text).map((part, i) => {
    if (typeof part === "string") return part;
    const slot = context.slots[part];
    if (!slot) return "";
    if (code) return inlineText(slot.value);
    return (
      <span key={i} class="log-value input-value" title={slot.name} data-placeholder={slot.name}>
        {inlineText(slot.value)}
      </span>
    );
  });
}

function BlockValue({ slot, links }: { slot: Slot; links: ValueLinks | undefined }) {
  const display = toDisplay(slot.value);
  return (
    <div class="input-block" data-placeholder={slot.name}>
      {display.kind === "string" ? <pre class="input-text">{display.value}</pre> : <ValueView value={slot.value} links={links} />}
    </div>
  );
}

function renderBlocks(blocks: Block[], context: Context, tight: boolean): ComponentChildren[] {
  return blocks.map((block, i) => <BlockView key={i} block={block} context={context} tight={tight} />);
}

function BlockView({ block, context, tight }: { block: Block; context: Context; tight: boolean }) {
  switch (block.kind) {
    case "paragraph":
      return <>{paragraph(block.children, context, tight)}</>;
    case "heading": {
      // The card's own title is the heading above: the prompt's start below it.
      const Tag = `h${Math.min(6, block.level + 2)}` as "h3";
      return <Tag class={`md-h${block.level}`}>{renderInlines(block.children, context)}</Tag>;
    }
    case "code":
      return (
        <pre class="md-code">
          <code>{withSlots(block.text, context, true)}</code>
        </pre>
      );
    case "list": {
      // A list whose items are one paragraph each reads as a list of lines.
      const itemsTight = block.items.every((item) => item.length <= 1 || item.slice(1).every((b) => b.kind === "list"));
      const items = block.items.map((item, i) => <li key={i}>{renderBlocks(item, context, itemsTight)}</li>);
      return block.ordered ? <ol start={block.start === 1 ? undefined : block.start}>{items}</ol> : <ul>{items}</ul>;
    }
    case "quote":
      return <blockquote>{renderBlocks(block.children, context, false)}</blockquote>;
    case "rule":
      return <hr />;
  }
}

/** A paragraph, split around the block values in it (a block cannot sit inside a `<p>`). */
function paragraph(children: Inline[], context: Context, tight: boolean): ComponentChildren[] {
  const out: ComponentChildren[] = [];
  let run: Inline[] = [];
  const flush = () => {
    const text = run.every((node) => node.kind === "text" && node.text.trim() === "");
    if (!text) {
      const content = renderInlines(run, context);
      out.push(tight ? <span key={out.length}>{content}</span> : <p key={out.length}>{content}</p>);
    }
    run = [];
  };
  for (const node of children) {
    if (node.kind !== "text") {
      run.push(node);
      continue;
    }
    for (const part of splitSlots(node.text)) {
      const slot = typeof part === "number" ? context.slots[part] : undefined;
      if (slot?.block) {
        flush();
        out.push(<BlockValue key={out.length} slot={slot} links={context.links} />);
      } else run.push({ kind: "text", text: typeof part === "number" ? slotMarker(part) : part });
    }
  }
  flush();
  return out;
}

function renderInlines(nodes: Inline[], context: Context): ComponentChildren[] {
  return nodes.map((node, i) => {
    switch (node.kind) {
      case "text":
        return <>{withSlots(node.text, context)}</>;
      case "code":
        return <code key={i}>{withSlots(node.text, context, true)}</code>;
      case "em":
        return <em key={i}>{renderInlines(node.children, context)}</em>;
      case "strong":
        return <strong key={i}>{renderInlines(node.children, context)}</strong>;
      case "link":
        return (
          <a key={i} href={node.href} target="_blank" rel="noopener noreferrer">
            {renderInlines(node.children, context)}
          </a>
        );
      case "break":
        return <br key={i} />;
    }
  });
}
