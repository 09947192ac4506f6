// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from "vitest";
import { getToken, reportUnauthorised, setToken } from "../api/auth";
import type { AuthView, ProjectInfo } from "../api/types";
import { describeIdentity, EXPIRED, REFUSED, Session } from "./session";

const TOKEN = { id: "t1", project: "p1", environments: null, read_only: true, description: "", created_at: 1, revoked_at: null };
const PROJECTS: ProjectInfo[] = [{ id: "p1", name: "demo", created_at: 1 }];

/** A server that knows `tokens` (token → who it is); null: it needs no token. */
function serve(tokens: Record<string, Partial<AuthView>> | null) {
  const seen: Array<string | undefined> = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (path: string, init: RequestInit = {}) => {
      const header = (init.headers as Record<string, string> | undefined)?.Authorization;
      seen.push(header);
      if (path === "/api/projects") return new Response(JSON.stringify(PROJECTS));
      const token = header?.replace(/^Bearer /, "");
      const known = tokens === null ? {} : token !== undefined ? tokens[token] : undefined;
      const view: AuthView = known
        ? { required: tokens !== null, authenticated: true, admin: false, token: null, ...known }
        : { required: true, authenticated: false, admin: false, token: null };
      return new Response(JSON.stringify(view));
    }),
  );
  return seen;
}

const sessions: Session[] = [];
function session(): { s: Session; closed: () => number } {
  let closed = 0;
  const s = new Session(() => closed++);
  sessions.push(s);
  return { s, closed: () => closed };
}

afterEach(() => {
  for (const s of sessions.splice(0)) s.dispose();
  sessionStorage.clear();
  vi.unstubAllGlobals();
});

describe("the session", () => {
  it("opens the app on a server that needs no token", async () => {
    serve(null);
    const { s } = session();
    await s.start();
    expect(s.state.value).toEqual({ phase: "open" });
  });

  it("asks for a token when the server needs one", async () => {
    serve({ admin: { admin: true } });
    const { s } = session();
    await s.start();
    expect(s.state.value).toEqual({ phase: "signed-out", error: null, busy: false });
  });

  it("refuses a wrong token with a message and keeps nothing", async () => {
    serve({ admin: { admin: true } });
    const { s } = session();
    await s.start();
    await s.signIn("wrong");
    expect(s.state.value).toEqual({ phase: "signed-out", error: REFUSED, busy: false });
    expect(getToken()).toBeNull();
  });

  it("keeps a token the server accepts, and says who it is", async () => {
    const seen = serve({ admin: { admin: true }, reader: { token: TOKEN } });
    const { s } = session();
    await s.start();
    await s.signIn("  admin ");
    expect(s.state.value).toEqual({ phase: "signed-in", identity: { admin: true } });
    expect(getToken()).toBe("admin");
    expect(seen.at(-1)).toBe("Bearer admin");
    await s.signIn("reader");
    const state = s.state.value;
    expect(state.phase === "signed-in" && describeIdentity(state.identity)).toBe("token t1 · project demo · read-only");
  });

  it("signs in again on start with the stored token (a reload)", async () => {
    serve({ admin: { admin: true } });
    setToken("admin");
    const { s } = session();
    await s.start();
    expect(s.state.value).toEqual({ phase: "signed-in", identity: { admin: true } });
  });

  it("drops a stored token the server no longer accepts", async () => {
    serve({ admin: { admin: true } });
    setToken("revoked");
    const { s } = session();
    await s.start();
    expect(s.state.value).toEqual({ phase: "signed-out", error: EXPIRED, busy: false });
    expect(getToken()).toBeNull();
  });

  it("signs out: the token is gone and live views are closed", async () => {
    serve({ admin: { admin: true } });
    const { s, closed } = session();
    await s.signIn("admin");
    s.signOut();
    expect(s.state.value).toEqual({ phase: "signed-out", error: null, busy: false });
    expect(getToken()).toBeNull();
    expect(closed()).toBe(1);
  });

  it("asks again after a 401 anywhere, keeping nothing", async () => {
    serve({ admin: { admin: true } });
    const { s, closed } = session();
    await s.signIn("admin");
    reportUnauthorised();
    expect(s.state.value).toEqual({ phase: "signed-out", error: EXPIRED, busy: false });
    expect(getToken()).toBeNull();
    expect(closed()).toBe(1);
    reportUnauthorised(); // already signed out: nothing more to do
    expect(closed()).toBe(1);
  });

  it("names a token's environments", () => {
    const identity = { admin: false as const, token: { ...TOKEN, read_only: false, environments: ["staging", "qa"] }, projectName: null };
    expect(describeIdentity(identity)).toBe("token t1 · project p1 · environments staging, qa");
  });
});
