/**
 * Whether the signed-in caller may answer an environment's inputs: answering is a
 * write, which a read-only project token, or one limited to other environments, is
 * refused (`server/auth.py`). Studio hides the controls rather than offer what
 * would be refused; the server decides anyway, and a refusal is shown if it comes.
 */

import type { SessionState } from "../signin/session";

export function canRespond(session: SessionState, environment: string): boolean {
  if (session.phase !== "signed-in" || session.identity.admin) return true;
  const { token } = session.identity;
  return !token.read_only && (token.environments === null || token.environments.includes(environment));
}
