// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Fact, InputInfo, InputView } from "../api/types";
import { inputsOfExecutions, pendingInputs } from "../inputs/book";
import { RUN } from "../test/fixtures";
import { flush } from "../test/mount";
import { InputsLive } from "./inputs";

/** An input as the `input_requested` fact carries it (every field, null or empty included). */
function info(id: string, environment = "production", runId = RUN, createdAt = 100): InputInfo {
  return { id, execution_id: `${runId}:1:1`, run_id: runId, environment, key: `key-${id}`, title: `Input ${id}`, template: "Approve?", placeholders: {}, schema: null, initial: null, actions: null, requires: {}, created_at: createdAt };
}

function view(id: string, status: InputView["status"] = "pending", createdAt = 100): InputView {
  const settled = status !== "pending";
  return {
    ...info(id, "production", RUN, createdAt),
    title: `Input ${id}`,
    placeholders: {},
    schema: null,
    initial: null,
    actions: null,
    requires: {},
    status,
    responded_at: settled ? 200 : null,
    responded_by: settled ? "admin" : null,
    response: null,
  };
}

const requested = (input: InputInfo): Fact => ({ fact: "input_requested", input, run_id: input.run_id, at: input.created_at });
const responded = (id: string, value: unknown = null): Fact => ({ fact: "input_responded", input_id: id, run_id: RUN, value, responded_by: "token t1", at: 150 });
const dismissed = (id: string): Fact => ({ fact: "input_dismissed", input_id: id, run_id: RUN, dismissed_by: "admin", at: 160 });

/** A fake server answering the inputs list with `lists` in turn, each when `release` is called. */
function serve(lists: InputView[][], status = 200) {
  const paths: string[] = [];
  const waiting: Array<() => void> = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (path: string) => {
      paths.push(path);
      const inputs = lists.shift() ?? [];
      await new Promise<void>((resolve) => waiting.push(resolve));
      if (status !== 200) return new Response(JSON.stringify({ error: { reason: "not_found", message: "no route" } }), { status });
      return new Response(JSON.stringify({ inputs }));
    }),
  );
  const release = async () => {
    await flush();
    for (const resolve of waiting.splice(0)) resolve();
    await flush();
  };
  return { paths, release };
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("live inputs", () => {
  it("keeps an environment's pending list current from facts: new ones in, answered ones out", async () => {
    const server = serve([[view("i1", "pending", 100)]]);
    const changed = vi.fn();
    const inputs = new InputsLive("demo", { environment: "production" }, changed);
    inputs.refresh();
    await server.release();
    expect(server.paths).toEqual(["/api/projects/demo/inputs?environment=production&status=pending"]);
    expect(pendingInputs(inputs.book).map((i) => i.id)).toEqual(["i1"]);
    expect(changed).toHaveBeenCalled();

    // Asked in this environment: in, newest first; in another: not for this page.
    expect(inputs.apply([requested(info("i2", "production", "run2", 120)), requested(info("i3", "staging", "run3", 130))])).toBe(true);
    expect(pendingInputs(inputs.book).map((i) => i.id)).toEqual(["i2", "i1"]);
    // What the fact leaves out reads as the API shows it.
    expect(inputs.book.byId.get("i2")).toMatchObject({ schema: null, actions: null, placeholders: {}, requires: {}, status: "pending" });
    // The same fact again changes nothing.
    expect(inputs.apply([requested(info("i2", "production", "run2", 120))])).toBe(false);

    // Answered: out of the pending list, with who answered, when and what.
    expect(inputs.apply([responded("i1", { ok: true })])).toBe(true);
    expect(pendingInputs(inputs.book).map((i) => i.id)).toEqual(["i2"]);
    expect(inputs.book.byId.get("i1")).toMatchObject({ status: "responded", responded_by: "token t1", responded_at: 150, response: { ok: true } });
    // A dismissal after the answer (a repeat, a race) does not change the answer.
    expect(inputs.apply([dismissed("i1")])).toBe(false);
    expect(inputs.book.byId.get("i1")?.status).toBe("responded");

    expect(inputs.apply([dismissed("i2")])).toBe(true);
    expect(pendingInputs(inputs.book)).toEqual([]);
    expect(inputs.book.byId.get("i2")).toMatchObject({ status: "dismissed", responded_by: "admin" });
    // An answer to an input this page never had is not its business.
    expect(inputs.apply([responded("other")])).toBe(false);
    inputs.close();
  });

  it("trusts facts that arrive while a list is on its way over the older list", async () => {
    const server = serve([[view("i1"), view("i2")]]);
    const inputs = new InputsLive("demo", { run: RUN }, () => undefined);
    inputs.refresh();
    expect(server.paths).toEqual([`/api/projects/demo/inputs?run=${RUN}&status=all`]);
    // i1 is answered and i3 asked after the server read the list it is about to send.
    inputs.apply([requested(info("i1")), responded("i1", 7), requested(info("i3"))]);
    await server.release();
    expect(inputs.book.byId.get("i1")).toMatchObject({ status: "responded", response: 7 });
    expect(pendingInputs(inputs.book).map((i) => i.id).sort()).toEqual(["i2", "i3"]);
    inputs.close();
  });

  it("reads the list again with a new snapshot, dropping what was settled while offline", async () => {
    const server = serve([[view("i1"), view("i2")], [view("i2")]]);
    const inputs = new InputsLive("demo", { environment: "production" }, () => undefined);
    inputs.refresh();
    await server.release();
    expect(pendingInputs(inputs.book).map((i) => i.id).sort()).toEqual(["i1", "i2"]);
    inputs.refresh();
    await server.release();
    expect(pendingInputs(inputs.book).map((i) => i.id)).toEqual(["i2"]);
    inputs.close();
  });

  it("applies a POST's answer at once, and a pending view read later does not undo it", async () => {
    const server = serve([[view("i1")], [view("i1")]]);
    const inputs = new InputsLive("demo", { run: RUN }, () => undefined);
    inputs.refresh();
    await server.release();
    inputs.settle(view("i1", "responded"));
    expect(pendingInputs(inputs.book)).toEqual([]);
    inputs.refresh();
    await server.release();
    expect(inputs.book.byId.get("i1")?.status).toBe("responded");
    expect(inputsOfExecutions(inputs.book, new Set([`${RUN}:1:1`])).map((i) => i.id)).toEqual(["i1"]);
    inputs.close();
  });

  it("shows nothing on a server without inputs", async () => {
    const server = serve([], 404);
    const inputs = new InputsLive("demo", { environment: "production" }, () => undefined);
    inputs.refresh();
    await server.release();
    expect(inputs.missing).toBe(true);
    inputs.close();
  });
});
