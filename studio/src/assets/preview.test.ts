// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from "vitest";
import { clearToken, setToken } from "../api/auth";
import { fetchBlobStart } from "../api/download";
import { IMAGE_PREVIEW_BYTES, decodeStart, parseCsv, previewKind } from "./preview";

afterEach(() => {
  clearToken();
  vi.unstubAllGlobals();
});

describe("the preview a file gets", () => {
  it.each([
    ["images/chart.png", 100, "image"],
    ["photo.JPEG", 100, "image"],
    ["huge.png", IMAGE_PREVIEW_BYTES + 1, "none"],
    ["data/table.csv", 10 ** 9, "csv"],
    ["data/table.tsv", 10, "csv"],
    ["notes.md", 10 ** 9, "text"],
    ["config.yaml", 10, "text"],
    ["README", 10, "text"],
    ["model.bin", 10, "none"],
    ["archive.tar.gz", 10, "none"],
  ] as const)("%s (%d bytes) gets %s", (path, size, kind) => {
    expect(previewKind({ path, size })).toBe(kind);
  });

  it("falls back on a recorded text media type", () => {
    expect(previewKind({ path: "out.data", size: 1, type: "text/plain" })).toBe("text");
  });
});

describe("reading the start of a file", () => {
  it("decodes UTF-8, dropping a character cut at the end, and refuses binary", () => {
    const bytes = new TextEncoder().encode("héllo €");
    expect(decodeStart(bytes.slice(0, bytes.length - 1))).toBe("héllo ");
    expect(decodeStart(new Uint8Array([0x89, 0x50, 0x4e, 0x47]))).toBeNull();
    expect(decodeStart(new Uint8Array([0x61, 0x00, 0x62]))).toBeNull();
  });

  it("parses CSV rows with quotes, leaving out a cut last line", () => {
    const text = 'id,name\n1,"a, b"\n2,"say ""hi"""\n3,"two\nlines"\n4,cu';
    expect(parseCsv(text, 50, true)).toEqual([
      ["id", "name"],
      ["1", "a, b"],
      ["2", 'say "hi"'],
      ["3", "two\nlines"],
    ]);
    expect(parseCsv(text, 50, false).at(-1)).toEqual(["4", "cu"]);
    expect(parseCsv("a,b\r\n1,2\r\n3,4\r\n", 1, false)).toEqual([
      ["a", "b"],
      ["1", "2"],
    ]);
    expect(parseCsv("a\tb\n1\t2\n", 5, false, "\t")).toEqual([
      ["a", "b"],
      ["1", "2"],
    ]);
  });

  it("asks for a range with the token, and knows when the file goes on", async () => {
    setToken("s3cret");
    const asked: Array<Record<string, string>> = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (_path: string, init: RequestInit = {}) => {
        asked.push(init.headers as Record<string, string>);
        return new Response("abcd", { status: 206, headers: { "Content-Range": "bytes 0-3/1000" } });
      }),
    );
    const got = await fetchBlobStart("ab".repeat(32), 4);
    expect(asked).toEqual([{ Range: "bytes=0-3", Authorization: "Bearer s3cret" }]);
    expect(new TextDecoder().decode(got.bytes)).toBe("abcd");
    expect(got.truncated).toBe(true);
  });

  it("reads no more than asked of a server that sends the whole file", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => new Response("0123456789", { status: 200 })));
    const got = await fetchBlobStart("ab".repeat(32), 4);
    expect(new TextDecoder().decode(got.bytes)).toBe("0123");
    expect(got.truncated).toBe(true);
  });

  it("takes a 416 for an empty file", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => new Response("", { status: 416 })));
    expect(await fetchBlobStart("ab".repeat(32), 4)).toEqual({ bytes: new Uint8Array(0), truncated: false });
  });
});
