// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from "vitest";
import {
  authHeaders,
  base64url,
  clearToken,
  getToken,
  onUnauthorised,
  reportUnauthorised,
  setToken,
  TOKEN_KEY,
  tokenProblem,
  tokenSubprotocols,
} from "./auth";

afterEach(() => sessionStorage.clear());

/** What the server decodes: base64url with the padding put back (coflux.server.auth.token_of). */
function serverDecode(encoded: string): string {
  const padded = encoded + "=".repeat((4 - (encoded.length % 4)) % 4);
  const binary = atob(padded.replace(/-/g, "+").replace(/_/g, "/"));
  return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

describe("the token", () => {
  it("lives in session storage until cleared", () => {
    expect(getToken()).toBeNull();
    setToken("s3cret");
    expect(sessionStorage.getItem(TOKEN_KEY)).toBe("s3cret");
    expect(getToken()).toBe("s3cret");
    clearToken();
    expect(getToken()).toBeNull();
    expect(sessionStorage.getItem(TOKEN_KEY)).toBeNull();
  });

  it("goes in a bearer header, and none without a token", () => {
    expect(authHeaders()).toEqual({});
    setToken("s3cret");
    expect(authHeaders()).toEqual({ Authorization: "Bearer s3cret" });
    expect(authHeaders("other")).toEqual({ Authorization: "Bearer other" });
    expect(authHeaders(null)).toEqual({});
  });

  it("is refused before sending when empty or not printable ASCII", () => {
    expect(tokenProblem("")).not.toBeNull();
    expect(tokenProblem("tök")).not.toBeNull();
    expect(tokenProblem("a\nb")).not.toBeNull();
    expect(tokenProblem("cfx_AZaz09-_.~ !")).toBeNull();
  });
});

describe("the WebSocket subprotocols", () => {
  it("offer none without a token", () => {
    expect(tokenSubprotocols()).toEqual([]);
  });

  it("offer coflux and the token as unpadded base64url of its UTF-8 bytes", () => {
    setToken("s3cret");
    const [plain, carrier] = tokenSubprotocols();
    expect(plain).toBe("coflux");
    expect(carrier).toBe("coflux.token.czNjcmV0");
    // Lengths that pad, bytes that map to '+' and '/', and non-ASCII all survive.
    for (const token of ["a", "ab", "abc", "\u00fb\u00ff\u00fe?>", "tök€n", "x".repeat(200)]) {
      const encoded = base64url(token);
      expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(serverDecode(encoded)).toBe(token);
    }
    expect(base64url("???")).toBe("Pz8_"); // base64 "Pz8/"
    expect(base64url("?>>")).toBe("Pz4-"); // base64 "Pz4+"
    expect(base64url("ab")).toBe("YWI"); // base64 "YWI="
  });
});

describe("refusals", () => {
  it("reach every listener until it stops listening", () => {
    const heard: string[] = [];
    const stopA = onUnauthorised(() => heard.push("a"));
    const stopB = onUnauthorised(() => heard.push("b"));
    reportUnauthorised();
    stopA();
    reportUnauthorised();
    stopB();
    reportUnauthorised();
    expect(heard).toEqual(["a", "b", "b"]);
  });
});
