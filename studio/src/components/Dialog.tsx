/**
 * A modal dialog on the native `<dialog>` element: focus is trapped inside, Escape
 * closes it, and focus returns to what opened it. A question that must be answered
 * before going on is an `alertdialog` (`Confirm`), its text named as its description.
 */

import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";

interface Props {
  title: string;
  onClose(): void;
  children: ComponentChildren;
  wide?: boolean;
  role?: "dialog" | "alertdialog";
  /** The id of the element that says what the dialog is about. */
  describedBy?: string;
}

export function Dialog({ title, onClose, children, wide, role, describedBy }: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    const opener = document.activeElement as HTMLElement | null;
    if (dialog && !dialog.open && typeof dialog.showModal === "function") dialog.showModal();
    return () => {
      if (dialog?.open) dialog.close();
      opener?.focus?.();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      class={`dialog${wide ? " wide" : ""}`}
      role={role}
      aria-labelledby="dialog-title"
      aria-describedby={describedBy}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      <header class="dialog-header">
        <h2 id="dialog-title">{title}</h2>
        <button type="button" class="icon ghost" aria-label="Close" onClick={onClose}>
          ✕
        </button>
      </header>
      <div class="dialog-body">{children}</div>
    </dialog>
  );
}
