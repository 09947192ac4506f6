/**
 * Input prompts, live: an environment's pending ones (its page) or all of a run's
 * (the run page and its step panels). The list is read from the API with every
 * snapshot, so after a reconnect too (facts sent while the connection was down are
 * not replayed); the live topics' input facts are applied as they come; and the
 * answer to a respond or dismiss is applied at once, before its fact arrives.
 */

import { useEffect, useMemo, useState } from "preact/hooks";
import { ApiError, api } from "../api/http";
import type { Fact, InputInfo, InputView } from "../api/types";
import { addInputList, addInputView, applyInputFacts, emptyInputBook, type InputBook } from "../inputs/book";
import type { ProjectLive } from "./project";
import { useProjectState } from "./project";

/** Which inputs a screen shows. */
export type InputScope = { environment: string } | { run: string };

/** What the input views read, and how they report an answer the server accepted. */
export interface InputsSource {
  readonly book: InputBook;
  /** The server has no inputs API (an older server): nothing to show. */
  readonly missing: boolean;
  settle(view: InputView): void;
}

export class InputsLive implements InputsSource {
  book: InputBook = emptyInputBook();
  missing = false;
  /** The ids facts were about while a list was on its way (null: none on its way). */
  private seen: Set<string> | null = null;
  private listAgain = false;
  private readonly controller = new AbortController();

  constructor(
    private readonly project: string,
    private readonly scope: InputScope,
    private readonly changed: () => void,
  ) {}

  private accepts = (input: InputInfo): boolean =>
    "run" in this.scope ? input.run_id === this.scope.run : input.environment === this.scope.environment;

  /** A (new) snapshot: read the list again. */
  refresh(): void {
    if (this.seen !== null) {
      this.listAgain = true;
      return;
    }
    const seen = (this.seen = new Set());
    // A run's inputs are few: all of them, so its step panels show the answered ones too.
    const covers = "run" in this.scope ? "all" : "pending";
    api
      .listInputs(this.project, { ...this.scope, status: covers }, this.controller.signal)
      .then(
        ({ inputs }) => {
          if (addInputList(this.book, inputs, covers, seen)) this.changed();
        },
        (e: unknown) => {
          // An older server has no such endpoint; any other failure is retried with the next snapshot.
          if (e instanceof ApiError && e.endpointMissing) {
            this.missing = true;
            this.changed();
          }
        },
      )
      .finally(() => {
        this.seen = null;
        if (this.listAgain && !this.controller.signal.aborted) {
          this.listAgain = false;
          this.refresh();
        }
      });
  }

  /** Apply live facts; returns whether the book changed. */
  apply(facts: Fact[]): boolean {
    const version = this.book.version;
    const touched = applyInputFacts(this.book, facts, this.accepts);
    for (const id of touched) this.seen?.add(id);
    return this.book.version !== version;
  }

  settle(view: InputView): void {
    this.seen?.add(view.id);
    if (addInputView(this.book, view)) this.changed();
  }

  close(): void {
    this.controller.abort();
  }
}

/** An environment's pending inputs, live; the component re-renders as they change. */
export function useEnvironmentInputs(live: ProjectLive, environment: string): InputsLive {
  const { generation } = useProjectState(live);
  const [, setTick] = useState(0);
  const inputs = useMemo(() => new InputsLive(live.project, { environment }, () => setTick((t) => t + 1)), [live, environment]);
  useEffect(() => {
    const stop = live.onFactsListen((facts) => {
      if (inputs.apply(facts)) setTick((t) => t + 1);
    });
    return () => {
      stop();
      inputs.close();
    };
  }, [live, inputs]);
  useEffect(() => inputs.refresh(), [inputs, generation]);
  return inputs;
}
