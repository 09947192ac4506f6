// @vitest-environment happy-dom
import { afterEach, describe, expect, it, vi } from "vitest";
import type { MetricPointView, MetricView } from "../api/types";
import { RUN } from "../test/fixtures";
import { flush } from "../test/mount";
import { MetricsLive } from "./metrics";

const E2 = `${RUN}:2:1`;
const E3 = `${RUN}:3:1`;

function view(executionId: string, key: string, count: number): MetricView {
  return { execution_id: executionId, key, group: null, scale: null, throttle: null, created_at: 100, count, value: count, at: count };
}

function point(id: number, executionId: string, at: number): MetricPointView {
  return { id, execution_id: executionId, key: "loss", value: at * 10, at };
}

/** A fake server: the list, and each execution's points after a cursor. */
function serve(views: MetricView[], points: MetricPointView[], status = 200) {
  const paths: string[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (path: string) => {
      paths.push(path);
      if (status !== 200) return new Response(JSON.stringify({ error: { reason: "not_found", message: "no route" } }), { status });
      const url = new URL(path, "http://studio");
      if (url.pathname.endsWith("/metrics")) return new Response(JSON.stringify(views));
      const execution = url.searchParams.get("execution");
      const after = Number(url.searchParams.get("after"));
      const page = points.filter((p) => p.execution_id === execution && p.id > after);
      return new Response(JSON.stringify({ points: page, cursor: page[page.length - 1]?.id ?? after }));
    }),
  );
  return paths;
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe("live metrics", () => {
  it("reads the list with each snapshot and pages in only the executions asked for", async () => {
    const points = [point(1, E2, 0), point(2, E3, 0), point(3, E2, 1)];
    const paths = serve([view(E2, "loss", 2), view(E3, "loss", 1)], points);
    const changed = vi.fn();
    const metrics = new MetricsLive("demo", RUN, changed);
    metrics.refresh();
    await flush();
    expect(paths).toEqual([`/api/projects/demo/runs/${RUN}/metrics`]);
    expect(metrics.book.byExecution.size).toBe(2);
    expect(changed).toHaveBeenCalled();

    metrics.wantPoints(E2);
    metrics.wantPoints(E2); // once
    await flush();
    expect(paths.slice(1)).toEqual([`/api/projects/demo/runs/${RUN}/metrics/points?execution=${encodeURIComponent(E2)}&after=0`]);
    const loss = metrics.book.series.get(`${E2}\nloss`)!;
    expect(loss.xs).toEqual([0, 1]);
    expect(metrics.book.loaded.has(E2)).toBe(true);
    expect(metrics.book.series.get(`${E3}\nloss`)?.xs).toEqual([]);

    // A live point, then a reconnect: the list again, and the pages after the cursor.
    metrics.apply([{ fact: "metrics", execution_id: E2, run_id: RUN, definitions: [], series: [{ key: "loss", points: [[20, 2]] }], at: 1 }]);
    points.push(point(4, E2, 2), point(5, E2, 3));
    metrics.refresh();
    await flush();
    expect(paths.slice(2)).toEqual([
      `/api/projects/demo/runs/${RUN}/metrics`,
      `/api/projects/demo/runs/${RUN}/metrics/points?execution=${encodeURIComponent(E2)}&after=3`,
    ]);
    expect(loss.xs).toEqual([0, 1, 2, 3]);
    metrics.close();
  });

  it("ignores facts of other runs", () => {
    serve([], []);
    const metrics = new MetricsLive("demo", RUN, () => undefined);
    const other = { fact: "metrics" as const, execution_id: "other:2:1", run_id: "other", definitions: [{ key: "loss" }], series: [], at: 1 };
    expect(metrics.apply([other])).toBe(false);
    expect(metrics.book.series.size).toBe(0);
    metrics.close();
  });

  it("shows nothing on a server without metrics", async () => {
    serve([], [], 404);
    const metrics = new MetricsLive("demo", RUN, () => undefined);
    metrics.refresh();
    await flush();
    expect(metrics.missing).toBe(true);
    metrics.wantPoints(E2);
    expect(metrics.book.cursors.size).toBe(0);
    metrics.close();
  });
});
