// @vitest-environment happy-dom
import { describe, expect, it } from "vitest";
import type { Value } from "../api/types";
import { value } from "../test/fixtures";
import { mount } from "../test/mount";
import { dedent, parseInline, parseMarkdown } from "./markdown";
import { Prompt } from "./Prompt";
import { fillTemplate, slotMarker } from "./template";

function render(template: string, placeholders: Record<string, Value> | null = null): HTMLElement {
  return mount(<Prompt template={template} placeholders={placeholders} />).querySelector(".input-prompt")!;
}

describe("filling a template", () => {
  it("makes slots of inline and block values, splices a Markdown string, and leaves unknown names", () => {
    const filled = fillTemplate("{a} and {{b}} then {{{c}}} but {d}", { a: value(1), b: value([1, 2]), c: value("*hi* {a}") });
    expect(filled.source).toBe(`${slotMarker(0)} and ${slotMarker(1)} then *hi* {a} but {d}`);
    expect(filled.slots.map((s) => [s.name, s.block])).toEqual([
      ["a", false],
      ["b", true],
    ]);
  });

  it("reads no markers smuggled into the template or a value", () => {
    const filled = fillTemplate(`x${slotMarker(0)} {{{c}}}`, { c: value(`y${slotMarker(0)}`) });
    expect(filled.source).toBe("x0 y0");
    expect(filled.slots).toEqual([]);
  });

  it("dedents a prompt written in an indented triple-quoted string", () => {
    expect(dedent("\n    ## Summarise\n\n      Transcript:\n    ")).toBe("## Summarise\n\n  Transcript:");
  });
});

describe("Markdown", () => {
  it("parses headings, paragraphs, lists, code, quotes and rules", () => {
    const blocks = parseMarkdown("# Title\n\nOne\ntwo  \nthree\n\n- a\n- b\n  - c\n\n1. x\n2. y\n\n```py\nx = 1\n```\n\n> quoted\n\n---");
    expect(blocks.map((b) => b.kind)).toEqual(["heading", "paragraph", "list", "list", "code", "quote", "rule"]);
    expect(blocks[1]).toEqual({ kind: "paragraph", children: [{ kind: "text", text: "One two" }, { kind: "break" }, { kind: "text", text: "three" }] });
    const bullets = blocks[2] as Extract<(typeof blocks)[number], { kind: "list" }>;
    expect(bullets.items).toHaveLength(2);
    expect(bullets.items[1]?.map((b) => b.kind)).toEqual(["paragraph", "list"]);
    expect(blocks[4]).toEqual({ kind: "code", text: "x = 1", language: "py" });
  });

  it("parses emphasis, code spans, escapes and links, keeping only safe addresses", () => {
    expect(parseInline("**bold** and *it* and `a*b*` \\*not\\* snake_case_name")).toEqual([
      { kind: "strong", children: [{ kind: "text", text: "bold" }] },
      { kind: "text", text: " and " },
      { kind: "em", children: [{ kind: "text", text: "it" }] },
      { kind: "text", text: " and " },
      { kind: "code", text: "a*b*" },
      { kind: "text", text: " *not* snake_case_name" },
    ]);
    expect(parseInline("[docs](https://example.com/a?b=1) [bad](javascript:alert(1))")).toEqual([
      { kind: "link", href: "https://example.com/a?b=1", children: [{ kind: "text", text: "docs" }] },
      { kind: "text", text: " bad" },
    ]);
  });
});

describe("Prompt", () => {
  it("renders the three placeholder forms", () => {
    const root = render("## Summarise {meeting}\n\nTranscript:\n\n{{transcript}}\n\nNotes: {{{notes}}}\n\nSizes {{sizes}} inline", {
      meeting: value("Weekly sync"),
      transcript: value("line one\nline two"),
      notes: value("**urgent**"),
      sizes: value({ a: 1 }),
    });
    const heading = root.querySelector("h4")!;
    expect(heading.textContent).toBe("Summarise Weekly sync");
    expect(heading.querySelector("[data-placeholder=meeting]")?.textContent).toBe("Weekly sync");
    // A block value is a block of its own, never inside a paragraph.
    const block = root.querySelector(".input-block[data-placeholder=transcript]")!;
    expect(block.parentElement).toBe(root);
    expect(block.querySelector("pre")?.textContent).toBe("line one\nline two");
    // The string itself as Markdown.
    expect(root.querySelector("strong")?.textContent).toBe("urgent");
    // A block value in the middle of a sentence splits the paragraph around it.
    const sizes = root.querySelector(".input-block[data-placeholder=sizes]")!;
    expect(sizes.parentElement).toBe(root);
    expect(sizes.previousElementSibling?.textContent).toBe("Sizes ");
    expect(sizes.nextElementSibling?.textContent).toBe(" inline");
    expect(sizes.textContent).toContain('"a"');
  });

  it("shows inline values as a log line does, and in code as plain text", () => {
    const root = render("Deploy {service} ({count} hosts) with `{service}`?", { service: value("api"), count: value(3) });
    expect(root.textContent).toBe("Deploy api (3 hosts) with api?");
    expect([...root.querySelectorAll(".input-value")].map((e) => e.textContent)).toEqual(["api", "3"]);
    expect(root.querySelector("code")?.textContent).toBe("api");
  });

  it("escapes HTML in the template and in every kind of value", () => {
    const root = render('<img src=x onerror="alert(1)"> {a} {{b}} {{{c}}} [x](javascript:alert(2))', {
      a: value("<script>alert(3)</script>"),
      b: value("<b>block</b>"),
      c: value('<iframe src="https://evil"></iframe> *ok*'),
    });
    expect(root.querySelector("img, script, iframe, b")).toBeNull();
    expect(root.querySelector("a")).toBeNull();
    expect(root.textContent).toContain('<img src=x onerror="alert(1)">');
    expect(root.textContent).toContain("<script>alert(3)</script>");
    expect(root.textContent).toContain('<iframe src="https://evil"></iframe>');
    expect(root.querySelector("em")?.textContent).toBe("ok");
  });

  it("opens links in a new tab without handing it this page", () => {
    const link = render("See [the runbook](https://example.com/runbook).").querySelector("a")!;
    expect(link.getAttribute("href")).toBe("https://example.com/runbook");
    expect(link.getAttribute("rel")).toBe("noopener noreferrer");
    expect(link.getAttribute("target")).toBe("_blank");
  });
});
