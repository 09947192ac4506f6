// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from "vitest";
import { clearToken, setToken } from "./auth";
import { downloadBlob } from "./download";

afterEach(() => {
  clearToken();
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe("downloading a blob", () => {
  it("fetches it with the token and saves it through an object URL, revoked after", async () => {
    setToken("s3cret");
    const fetched: Array<{ path: string; headers: unknown }> = [];
    vi.stubGlobal(
      "fetch",
      vi.fn(async (path: string, init: RequestInit = {}) => {
        fetched.push({ path, headers: init.headers });
        return new Response("n,square\n0,0\n");
      }),
    );
    const created: Blob[] = [];
    vi.spyOn(URL, "createObjectURL").mockImplementation((blob) => {
      created.push(blob as Blob);
      return "blob:studio/1";
    });
    const revoke = vi.spyOn(URL, "revokeObjectURL").mockImplementation(() => undefined);
    const clicked: Array<{ href: string; download: string }> = [];
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      clicked.push({ href: this.href, download: this.download });
    });
    vi.useFakeTimers();

    await downloadBlob("ab".repeat(32), "report.csv");

    expect(fetched).toEqual([{ path: `/blobs/${"ab".repeat(32)}`, headers: { Authorization: "Bearer s3cret" } }]);
    expect(await created[0]!.text()).toBe("n,square\n0,0\n");
    expect(clicked).toEqual([{ href: "blob:studio/1", download: "report.csv" }]);
    expect(clicked[0]!.href).not.toContain("s3cret");
    expect(document.querySelector("a[download]")).toBeNull(); // the helper link is gone
    expect(revoke).not.toHaveBeenCalled();
    vi.runAllTimers();
    expect(revoke).toHaveBeenCalledWith("blob:studio/1");
  });

  it("saves nothing when the server refuses", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => new Response('{"error":{"reason":"unauthorised","message":"a valid token is required"}}', { status: 401 })));
    const create = vi.spyOn(URL, "createObjectURL");
    await expect(downloadBlob("cd".repeat(32), "x.bin")).rejects.toThrow("a valid token is required");
    expect(create).not.toHaveBeenCalled();
  });
});
