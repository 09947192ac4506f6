/**
 * The session: whether Studio may show the app, must ask for a token, or cannot
 * reach the server; who is signed in; signing in and out.
 *
 * On start it asks `GET /api/auth` (which needs no token) with the stored token.
 * A server that needs none opens the app directly. The sign-in screen replaces the
 * app without navigating, so after signing in the same URL opens the same page.
 * A 401 anywhere later (a revoked token, a server restarted with other tokens)
 * drops the token and asks again.
 */

import { ApiError, api } from "../api/http";
import { clearToken, getToken, onUnauthorised, setToken, tokenProblem } from "../api/auth";
import type { AuthView, TokenView } from "../api/types";
import { closeAllProjects } from "../live/project";
import { Observable, useObservable } from "../live/store";

/** Who is signed in, for the header: an admin, or one project token. */
export type Identity = { admin: true } | { admin: false; token: TokenView; projectName: string | null };

export type SessionState =
  | { phase: "checking" }
  | { phase: "unreachable"; message: string }
  | { phase: "signed-out"; error: string | null; busy: boolean }
  | { phase: "open" } // the server needs no token
  | { phase: "signed-in"; identity: Identity };

export const REFUSED = "The server refused this token.";
export const EXPIRED = "The server no longer accepts the token you signed in with (it may have been revoked). Sign in again.";

export class Session {
  readonly state = new Observable<SessionState>({ phase: "checking" });
  private stopListening: () => void;
  private attempt = 0; // a newer check or sign-in makes older answers stale

  constructor(private closeLive: () => void = closeAllProjects) {
    this.stopListening = onUnauthorised(() => this.refused());
  }

  /** Ask the server whether it needs a token, and whether the stored one opens it. */
  async start(): Promise<void> {
    const attempt = ++this.attempt;
    const stored = getToken();
    this.state.set({ phase: "checking" });
    let auth: AuthView;
    try {
      auth = await api.getAuth(stored);
    } catch (e) {
      if (attempt !== this.attempt) return;
      // An older server without /api/auth checks no tokens either.
      if (e instanceof ApiError && e.endpointMissing) this.state.set({ phase: "open" });
      else this.state.set({ phase: "unreachable", message: (e as Error).message });
      return;
    }
    if (attempt !== this.attempt) return;
    if (!auth.required) {
      this.state.set({ phase: "open" });
    } else if (auth.authenticated) {
      const identity = await identityOf(auth);
      if (attempt === this.attempt) this.state.set({ phase: "signed-in", identity });
    } else {
      if (stored) clearToken();
      this.state.set({ phase: "signed-out", error: stored ? EXPIRED : null, busy: false });
    }
  }

  /** Try `token`: kept only if the server says it opens it. */
  async signIn(input: string): Promise<void> {
    const token = input.trim();
    const problem = tokenProblem(token);
    if (problem) {
      this.state.set({ phase: "signed-out", error: problem, busy: false });
      return;
    }
    const attempt = ++this.attempt;
    this.state.set({ phase: "signed-out", error: null, busy: true });
    let auth: AuthView;
    try {
      auth = await api.getAuth(token);
    } catch (e) {
      if (attempt === this.attempt) this.state.set({ phase: "signed-out", error: (e as Error).message, busy: false });
      return;
    }
    if (attempt !== this.attempt) return;
    if (!auth.required) {
      this.state.set({ phase: "open" });
    } else if (!auth.authenticated) {
      this.state.set({ phase: "signed-out", error: REFUSED, busy: false });
    } else {
      setToken(token);
      const identity = await identityOf(auth);
      if (attempt === this.attempt) this.state.set({ phase: "signed-in", identity });
    }
  }

  signOut(): void {
    this.attempt++;
    clearToken();
    this.closeLive();
    this.state.set({ phase: "signed-out", error: null, busy: false });
  }

  /** A request was refused for want of a valid token. */
  private refused(): void {
    const phase = this.state.value.phase;
    if (phase !== "signed-in" && phase !== "open") return;
    this.attempt++;
    clearToken();
    this.closeLive();
    this.state.set({ phase: "signed-out", error: EXPIRED, busy: false });
  }

  dispose(): void {
    this.stopListening();
  }
}

/** The signed-in identity; a project token's project by name, when it can be listed. */
async function identityOf(auth: AuthView): Promise<Identity> {
  const token = auth.token;
  if (auth.admin || token === null) return { admin: true };
  let projectName: string | null = null;
  try {
    projectName = (await api.listProjects()).find((p) => p.id === token.project)?.name ?? null;
  } catch {
    projectName = null; // the header shows the id instead
  }
  return { admin: false, token, projectName };
}

/** What the header says about who is signed in. */
export function describeIdentity(identity: Identity): string {
  if (identity.admin) return "admin";
  const { token, projectName } = identity;
  const parts = [`token ${token.id}`, `project ${projectName ?? token.project}`];
  if (token.environments !== null) parts.push(`environments ${token.environments.join(", ")}`);
  if (token.read_only) parts.push("read-only");
  return parts.join(" · ");
}

export const session = new Session();

export function useSession(): SessionState {
  return useObservable(session.state);
}
