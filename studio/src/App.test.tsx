// @vitest-environment happy-dom
import { act } from "preact/test-utils";
import { afterEach, describe, expect, it, vi } from "vitest";
import { getToken } from "./api/auth";
import { App } from "./App";
import { flush, mount } from "./test/mount";

/** A server whose only token is `admin`, with one project. */
function serve() {
  vi.stubGlobal(
    "fetch",
    vi.fn(async (path: string, init: RequestInit = {}) => {
      const signedIn = (init.headers as Record<string, string> | undefined)?.Authorization === "Bearer admin";
      if (path === "/api/auth") {
        return new Response(JSON.stringify({ required: true, authenticated: signedIn, admin: signedIn, token: null }));
      }
      if (!signedIn) return new Response(JSON.stringify({ error: { reason: "unauthorised", message: "no" } }), { status: 401 });
      return new Response(JSON.stringify([{ id: "p1", name: "demo", created_at: 1 }]));
    }),
  );
}

afterEach(() => {
  vi.unstubAllGlobals();
  sessionStorage.clear();
});

async function signIn(root: HTMLElement, token: string) {
  const input = root.querySelector<HTMLInputElement>("#signin-token")!;
  await act(() => {
    input.value = token;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });
  await act(() => {
    root.querySelector<HTMLButtonElement>("form[aria-label='Sign in'] button[type=submit]")!.click();
  });
  await flush();
  await flush();
}

describe("signing in to Studio", () => {
  it("asks for a token, refuses a wrong one, opens the app with the right one, and signs out", async () => {
    serve();
    const root = mount(<App />);
    await flush();
    const input = root.querySelector<HTMLInputElement>("#signin-token");
    expect(input?.type).toBe("password");
    expect(root.querySelector("table[aria-label='Projects']")).toBeNull();

    await signIn(root, "wrong");
    expect(root.querySelector("[role=alert]")?.textContent).toContain("refused");
    expect(getToken()).toBeNull();

    await signIn(root, "admin");
    expect(root.querySelector("#signin-token")).toBeNull();
    expect(root.querySelector("table[aria-label='Projects']")?.textContent).toContain("demo");
    expect(root.querySelector("[data-testid=signed-in]")?.textContent).toBe("admin");
    expect(getToken()).toBe("admin");

    const signOut = [...root.querySelectorAll("button")].find((b) => b.textContent === "Sign out")!;
    await act(() => signOut.click());
    expect(root.querySelector("#signin-token")).not.toBeNull();
    expect(root.querySelector("[data-testid=signed-in]")).toBeNull();
    expect(getToken()).toBeNull();
  });
});
