/**
 * Asking before an action that cannot be undone (cancelling a run or a step,
 * archiving an environment, stopping a sensor): one dialog for all of them, so each
 * says the same way what will happen, and the safe answer is the easy one. Focus
 * starts on "No", Escape and the close button mean no, and only "Yes" acts.
 */

import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { Dialog } from "./Dialog";

interface Props {
  /** The question, short: "Cancel run?" */
  title: string;
  /** What will happen, plainly: "Cancel run R and its 12 unfinished steps?" */
  children: ComponentChildren;
  /** The label of the button that acts: "Yes, cancel the run". */
  confirmLabel: string;
  /** The label of the button that leaves things as they are. */
  declineLabel?: string;
  onConfirm(): void;
  /** Closed without acting (No, Escape, or the close button). */
  onDecline(): void;
}

export function Confirm({ title, children, confirmLabel, declineLabel = "No", onConfirm, onDecline }: Props) {
  const safe = useRef<HTMLButtonElement>(null);
  // After the dialog's own effect (a child's runs first) has opened it, which
  // focuses its first control, the close button.
  useEffect(() => safe.current?.focus(), []);
  return (
    <Dialog title={title} onClose={onDecline} role="alertdialog" describedBy="confirm-message">
      <div class="stack">
        <div id="confirm-message" class="confirm-message">
          {children}
        </div>
        <div class="row confirm-actions">
          <span class="spacer" />
          <button type="button" ref={safe} onClick={onDecline}>
            {declineLabel}
          </button>
          <button type="button" class="danger" onClick={onConfirm}>
            {confirmLabel}
          </button>
        </div>
      </div>
    </Dialog>
  );
}

/** "1 unfinished step", "12 unfinished steps": a count in a question. */
export function plural(count: number, noun: string): string {
  return `${count.toLocaleString("en-GB")} ${noun}${count === 1 ? "" : "s"}`;
}
