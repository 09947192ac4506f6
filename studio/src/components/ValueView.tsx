/**
 * A value, rendered from its display tree: short values on one line, longer ones
 * indented, long lists cut with a "show more" button. Execution handles link to
 * their step; a value stored in the blob store loads on request.
 */

import { useState } from "preact/hooks";
import { fetchBlob } from "../api/http";
import type { Value } from "../api/types";
import { formatBytes } from "../model/format";
import { type Display, fromData, toDisplay, toText } from "../model/values";
import { Link } from "./Link";

export interface ValueLinks {
  /** The URL of the step an execution id belongs to, if it can be shown. */
  execution?(id: string): string | null;
  asset?(id: string): void;
}

const INLINE = 60;
const PAGE = 100;

export function ValueView({ value, links }: { value: Value; links?: ValueLinks }) {
  return (
    <div class="value mono">
      <Node display={toDisplay(value)} links={links} />
    </div>
  );
}

function Node({ display, links }: { display: Display; links?: ValueLinks | undefined }) {
  switch (display.kind) {
    case "null":
      return <span class="v-null">None</span>;
    case "boolean":
      return <span class="v-bool">{display.value ? "True" : "False"}</span>;
    case "number":
      return <span class="v-number">{display.text}</span>;
    case "string":
      return <span class="v-string">{JSON.stringify(display.value)}</span>;
    case "scalar":
      return display.type === "int" || display.type === "float" ? (
        <span class="v-number">{display.text}</span>
      ) : (
        <span class="v-scalar" title={display.type}>
          <span class="v-type">{display.type}</span> {display.text}
        </span>
      );
    case "bytes":
      return (
        <span class="v-bytes" title={`${display.type}, ${display.size} bytes`}>
          b"{display.preview}"
        </span>
      );
    case "pickle":
      return <span class="v-opaque">‹pickled {display.type}›</span>;
    case "execution": {
      const to = links?.execution?.(display.id);
      return to ? (
        <Link class="v-ref" to={to} title="Go to this execution's step">
          ‹execution {display.id}›
        </Link>
      ) : (
        <span class="v-ref">‹execution {display.id}›</span>
      );
    }
    case "asset":
      return links?.asset ? (
        <button type="button" class="v-ref link-button" onClick={() => links.asset?.(display.id)}>
          ‹asset {display.id}›
        </button>
      ) : (
        <span class="v-ref">‹asset {display.id}›</span>
      );
    case "model":
      return (
        <span>
          <span class="v-type">{display.type.split(":").pop()}</span> <Node display={display.value} links={links} />
        </span>
      );
    case "blob":
      return <BlobValue blobKey={display.key} size={display.size} links={links} />;
    case "unknown":
      return <span class="v-opaque">{display.text}</span>;
    case "list":
    case "dict":
      return <Collection display={display} links={links} />;
  }
}

const OPEN = { list: "[", tuple: "(", set: "{", frozenset: "frozenset({" } as const;
const CLOSE = { list: "]", tuple: ")", set: "}", frozenset: "})" } as const;

function Collection({
  display,
  links,
}: {
  display: Extract<Display, { kind: "list" | "dict" }>;
  links?: ValueLinks | undefined;
}) {
  const [shown, setShown] = useState(PAGE);
  const open = display.kind === "dict" ? "{" : OPEN[display.type];
  const close = display.kind === "dict" ? "}" : CLOSE[display.type];
  const size = display.kind === "dict" ? display.entries.length : display.items.length;
  const text = toText(display, INLINE + 1);
  if (text.length <= INLINE && !text.includes("‹")) return <span>{text}</span>;
  const rows =
    display.kind === "dict"
      ? display.entries.slice(0, shown).map(([key, value], i) => (
          <div class="v-row" key={i}>
            <Node display={key} links={links} />: <Node display={value} links={links} />,
          </div>
        ))
      : display.items.slice(0, shown).map((item, i) => (
          <div class="v-row" key={i}>
            <Node display={item} links={links} />,
          </div>
        ));
  return (
    <span>
      {open}
      <div class="v-block">
        {rows}
        {size > shown && (
          <button type="button" class="small ghost" onClick={() => setShown(shown + PAGE * 10)}>
            show {Math.min(size - shown, PAGE * 10)} more of {size}
          </button>
        )}
      </div>
      {close}
    </span>
  );
}

function BlobValue({ blobKey, size, links }: { blobKey: string; size: number; links?: ValueLinks | undefined }) {
  const [loaded, setLoaded] = useState<Display | string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = async () => {
    try {
      const response = await fetchBlob(blobKey);
      const text = await response.text();
      try {
        setLoaded(fromData(JSON.parse(text)));
      } catch {
        setLoaded(text);
      }
    } catch (e) {
      setError(`Could not load the value: ${(e as Error).message}`);
    }
  };
  if (loaded !== null) return typeof loaded === "string" ? <pre>{loaded}</pre> : <Node display={loaded} links={links} />;
  return (
    <span class="v-opaque">
      ‹stored value, {formatBytes(size)}›{" "}
      <button type="button" class="small" onClick={load}>
        Load
      </button>
      {error && <span class="field-error"> {error}</span>}
    </span>
  );
}
