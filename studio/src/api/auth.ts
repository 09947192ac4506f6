/**
 * The token Studio signs in with: kept in `sessionStorage` (one tab, gone when the
 * tab closes), sent as `Authorization: Bearer …` on HTTP requests and as a
 * WebSocket subprotocol (browsers cannot set headers on WebSockets).
 *
 * It never goes into a URL: URLs end up in history, logs and referrers.
 *
 * Any request the server refuses for want of a valid token (HTTP 401, or a live
 * subscription closed with 4005) calls `reportUnauthorised`; the session
 * (`signin/session.ts`) listens and brings up the sign-in screen.
 */

export const TOKEN_KEY = "coflux.token";

/** What the server accepts back when a browser offers a token subprotocol. */
export const SUBPROTOCOL = "coflux";
const TOKEN_SUBPROTOCOL = "coflux.token.";

function storage(): Storage | null {
  // Storage can be missing (tests, some embedded views) or throw (disabled by policy).
  try {
    return typeof sessionStorage === "undefined" ? null : sessionStorage;
  } catch {
    return null;
  }
}

export function getToken(): string | null {
  try {
    return storage()?.getItem(TOKEN_KEY) || null;
  } catch {
    return null;
  }
}

export function setToken(token: string): void {
  storage()?.setItem(TOKEN_KEY, token);
}

export function clearToken(): void {
  storage()?.removeItem(TOKEN_KEY);
}

/** Why `token` cannot be sent, or null if it can. HTTP headers carry only
 * printable ASCII here: anything else would be mangled or refused by the browser. */
export function tokenProblem(token: string): string | null {
  if (token === "") return "Enter a token.";
  if (!/^[\x20-\x7e]+$/.test(token)) return "A token is printable ASCII characters only.";
  return null;
}

/** The request headers that carry `token` (none without one). */
export function authHeaders(token: string | null = getToken()): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** Base64url of the UTF-8 bytes of `text`, without padding (RFC 4648 §5). */
export function base64url(text: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The subprotocols a live WebSocket offers: none without a token, else `coflux`
 * (which the server accepts) and the token itself. */
export function tokenSubprotocols(token: string | null = getToken()): string[] {
  return token ? [SUBPROTOCOL, TOKEN_SUBPROTOCOL + base64url(token)] : [];
}

const unauthorisedListeners = new Set<() => void>();

/** Calls `listener` whenever the server refuses a request for want of a valid token. */
export function onUnauthorised(listener: () => void): () => void {
  unauthorisedListeners.add(listener);
  return () => {
    unauthorisedListeners.delete(listener);
  };
}

export function reportUnauthorised(): void {
  for (const listener of [...unauthorisedListeners]) listener();
}
