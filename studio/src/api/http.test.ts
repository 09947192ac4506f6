// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { clearToken, onUnauthorised, setToken } from "./auth";
import { ApiError, api, fetchBlob } from "./http";

type Call = { path: string; headers: Record<string, string> };

function serve(status: number, body: unknown): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (path: string, init: RequestInit = {}) => {
      calls.push({ path, headers: { ...(init.headers as Record<string, string>) } });
      return new Response(typeof body === "string" ? body : JSON.stringify(body), { status });
    }),
  );
  return calls;
}

const refusal = { error: { reason: "unauthorised", message: "a valid token is required" } };

let refused = 0;
let stop: () => void;
beforeEach(() => {
  refused = 0;
  stop = onUnauthorised(() => refused++);
});
afterEach(() => {
  stop();
  clearToken();
  vi.unstubAllGlobals();
});

describe("the HTTP client", () => {
  it("sends no Authorization header without a token", async () => {
    const calls = serve(200, []);
    await api.listProjects();
    expect(calls[0]!.headers.Authorization).toBeUndefined();
    expect(calls[0]!.headers.Accept).toBe("application/json");
  });

  it("sends the signed-in token as a bearer header on every request", async () => {
    setToken("s3cret");
    const calls = serve(200, {});
    await api.listProjects();
    await api.submitRun("demo", "production", "repo", "flow", []);
    await api.getAuth();
    expect(calls.map((c) => c.headers.Authorization)).toEqual(["Bearer s3cret", "Bearer s3cret", "Bearer s3cret"]);
    expect(calls[1]!.headers["Content-Type"]).toBe("application/json");
  });

  it("asks /api/auth with a candidate token, not the stored one", async () => {
    setToken("old");
    const calls = serve(200, { required: true, authenticated: false, admin: false, token: null });
    await api.getAuth("candidate");
    await api.getAuth(null);
    expect(calls[0]).toEqual({ path: "/api/auth", headers: { Accept: "application/json", Authorization: "Bearer candidate" } });
    expect(calls[1]!.headers.Authorization).toBeUndefined();
  });

  it("reports a 401 and throws it with the server's reason", async () => {
    serve(401, refusal);
    const error = await api.listProjects().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(401);
    expect((error as ApiError).reason).toBe("unauthorised");
    expect(refused).toBe(1);
  });

  it("does not report a 403: the token is valid, it just does not allow this", async () => {
    setToken("reader");
    serve(403, { error: { reason: "read_only", message: "this token may only read" } });
    const error = await api.createProject("x").catch((e: unknown) => e);
    expect((error as ApiError).reason).toBe("read_only");
    expect(refused).toBe(0);
  });

  it("fetches blobs with the token too, and reports their 401", async () => {
    setToken("s3cret");
    const calls = serve(200, "n,square\n");
    const response = await fetchBlob("ab".repeat(32));
    expect(await response.text()).toBe("n,square\n");
    expect(calls[0]).toEqual({ path: `/blobs/${"ab".repeat(32)}`, headers: { Authorization: "Bearer s3cret" } });
    serve(401, refusal);
    await expect(fetchBlob("cd".repeat(32))).rejects.toThrow("a valid token is required");
    expect(refused).toBe(1);
  });
});
