/**
 * The input prompts a screen shows (an environment's, a run's), kept current: lists
 * read from the API, then the live topics' `input_requested`, `input_responded` and
 * `input_dismissed` facts applied to them, and the answer a POST returns.
 *
 * Facts may arrive twice, or before or after a list read at about the same time, so
 * every change is idempotent and one-way: an input once answered or dismissed never
 * reads as pending again, whichever arrives last.
 */

import type { Fact, InputInfo, InputView } from "../api/types";

export interface InputBook {
  byId: Map<string, InputView>;
  /** Bumped on every change (a dependency for memoised views). */
  version: number;
}

export function emptyInputBook(): InputBook {
  return { byId: new Map(), version: 0 };
}

const settled = (input: InputView) => input.status !== "pending";

/** Put `view` in the book unless the book knows it settled already; returns whether it changed. */
function put(book: InputBook, view: InputView): boolean {
  const known = book.byId.get(view.id);
  if (known && settled(known) && !settled(view)) return false;
  if (known && JSON.stringify(known) === JSON.stringify(view)) return false;
  book.byId.set(view.id, view);
  return true;
}

/**
 * A list read from the API. `complete`: it holds every input of the screen's scope
 * that `covers` (the pending ones, or all), so one the book has as pending but the
 * list lacks was settled meanwhile and goes, unless a fact about it arrived while
 * the list was on its way (`seen`), which is newer than the list.
 */
export function addInputList(book: InputBook, views: InputView[], covers: "pending" | "all", seen: ReadonlySet<string>): boolean {
  let changed = false;
  const listed = new Set(views.map((v) => v.id));
  for (const [id, input] of book.byId) {
    const inScope = covers === "all" || !settled(input);
    if (inScope && !listed.has(id) && !seen.has(id)) {
      book.byId.delete(id);
      changed = true;
    }
  }
  for (const view of views) if (put(book, view)) changed = true;
  if (changed) book.version++;
  return changed;
}

/** An input the server answered a POST with (respond or dismiss). */
export function addInputView(book: InputBook, view: InputView): boolean {
  const changed = put(book, view);
  if (changed) book.version++;
  return changed;
}

/** A fact's input as the API would show it: the fields the fact leaves out at their defaults. */
function pendingView(info: InputInfo): InputView {
  return {
    ...info,
    title: info.title ?? null,
    placeholders: info.placeholders ?? {},
    schema: info.schema ?? null,
    initial: info.initial ?? null,
    actions: info.actions ?? null,
    requires: info.requires ?? {},
    status: "pending",
    responded_at: null,
    responded_by: null,
    response: null,
  };
}

/**
 * Apply facts; `accepts` says which newly asked inputs belong to the screen. Answers
 * and dismissals apply to the inputs the book has. Returns the ids the facts were
 * about (empty: nothing for this book).
 */
export function applyInputFacts(book: InputBook, facts: Fact[], accepts: (input: InputInfo) => boolean): Set<string> {
  const touched = new Set<string>();
  let changed = false;
  for (const fact of facts) {
    if (fact.fact === "input_requested") {
      if (!accepts(fact.input)) continue;
      touched.add(fact.input.id);
      if (!book.byId.has(fact.input.id)) {
        book.byId.set(fact.input.id, pendingView(fact.input));
        changed = true;
      }
    } else if (fact.fact === "input_responded" || fact.fact === "input_dismissed") {
      const known = book.byId.get(fact.input_id);
      if (!known) continue;
      touched.add(fact.input_id);
      if (settled(known)) continue;
      book.byId.set(fact.input_id, {
        ...known,
        status: fact.fact === "input_responded" ? "responded" : "dismissed",
        responded_at: fact.at,
        responded_by: fact.fact === "input_responded" ? fact.responded_by : fact.dismissed_by,
        response: fact.fact === "input_responded" ? fact.value : null,
      });
      changed = true;
    }
  }
  if (changed) book.version++;
  return touched;
}

const newestFirst = (a: InputView, b: InputView) => b.created_at - a.created_at || b.id.localeCompare(a.id);

/** The inputs waiting for an answer, newest first. */
export function pendingInputs(book: InputBook): InputView[] {
  return [...book.byId.values()].filter((input) => input.status === "pending").sort(newestFirst);
}

/** The inputs one of `executionIds` asked for (any state), oldest first, as they were asked. */
export function inputsOfExecutions(book: InputBook, executionIds: ReadonlySet<string>): InputView[] {
  return [...book.byId.values()].filter((input) => executionIds.has(input.execution_id)).sort((a, b) => -newestFirst(a, b));
}
