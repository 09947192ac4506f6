/** The screens before the app: checking the server, the server out of reach, sign-in. */

import { useState } from "preact/hooks";
import { ErrorNotice, Loading } from "../components/Notice";

export function Checking() {
  return (
    <main class="page narrow">
      <Loading label="Connecting to the server…" />
    </main>
  );
}

export function Unreachable({ message, onRetry }: { message: string; onRetry: () => void }) {
  return (
    <main class="page narrow">
      <ErrorNotice error={message} />
      <p>
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      </p>
    </main>
  );
}

/** Asks for a token; `error` says why the last one was refused. */
export function SignIn({ error, busy, onSignIn }: { error: string | null; busy: boolean; onSignIn: (token: string) => void }) {
  const [token, setToken] = useState("");
  const submit = (event: Event) => {
    event.preventDefault();
    onSignIn(token);
  };
  return (
    <main class="page narrow signin">
      <div class="page-head">
        <h1>Sign in</h1>
      </div>
      <p class="muted">
        This server needs a token: its admin token, or a project token from <code>coflux tokens create</code>. Studio
        keeps it in this tab only, until you sign out or close the tab.
      </p>
      <form class="card form-inline" onSubmit={submit} aria-label="Sign in">
        <div class="field grow">
          <label for="signin-token">Token</label>
          <input
            id="signin-token"
            type="password"
            value={token}
            autoComplete="off"
            spellcheck={false}
            aria-invalid={error ? "true" : undefined}
            aria-describedby={error ? "signin-error" : undefined}
            onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          />
        </div>
        <button type="submit" class="primary" disabled={busy || token.trim() === ""}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        {error && (
          <p id="signin-error" class="field-error full" role="alert">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
