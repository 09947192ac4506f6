import { describe, expect, it } from "vitest";
import {
  axisDomain,
  axisTicks,
  cursorAfterKey,
  extentOf,
  extentOfSorted,
  formatTick,
  formatValue,
  linePath,
  nearestIndex,
  nearestX,
  neighbourX,
  niceStep,
  thin,
  toPixel,
  withUnits,
} from "./scale";

describe("metric chart scale", () => {
  it("picks round steps", () => {
    expect(niceStep(10, 5)).toBe(2);
    expect(niceStep(1, 4)).toBe(0.5);
    expect(niceStep(0.3, 4)).toBe(0.1);
    expect(niceStep(700, 4)).toBe(200);
    expect(niceStep(4, 4)).toBe(1);
  });

  it("keeps a definition's bounds and rounds the data's ends out to a tick", () => {
    expect(axisDomain(0, 80, 0, 100)).toEqual({ lo: 0, hi: 100 });
    expect(axisDomain(0.2, 1, null, null)).toEqual({ lo: 0.2, hi: 1 });
    expect(axisDomain(0.13, 0.97, null, null)).toEqual({ lo: 0, hi: 1 });
    expect(axisDomain(3, 17, null, null)).toEqual({ lo: 0, hi: 20 });
    // One bound given: the other end follows the data.
    expect(axisDomain(12, 37, 0, null)).toEqual({ lo: 0, hi: 40 });
    expect(axisDomain(-3, -1, null, 0)).toEqual({ lo: -3, hi: 0 });
  });

  it("never gives an empty range", () => {
    expect(axisDomain(null, null, null, null)).toEqual({ lo: 0, hi: 1 });
    const single = axisDomain(5, 5, null, null);
    expect(single.lo).toBeLessThan(5);
    expect(single.hi).toBeGreaterThan(5);
    expect(axisDomain(0, 0, null, null)).toEqual({ lo: -1, hi: 1 });
    // A lone value at a fixed lower bound grows upwards only.
    expect(axisDomain(0, 0, 0, null)).toEqual({ lo: 0, hi: 1 });
    // Bounds the data contradicts still give a range that holds both.
    expect(axisDomain(-5, -5, 0, null)).toEqual({ lo: -5, hi: 0 });
  });

  it("puts ticks on round values inside the range, without floating-point dust", () => {
    expect(axisTicks({ lo: 0, hi: 100 }).ticks).toEqual([0, 50, 100]);
    expect(axisTicks({ lo: 0, hi: 1 }).ticks).toEqual([0, 0.5, 1]);
    expect(axisTicks({ lo: 0.1, hi: 0.7 }, 6).ticks).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
    expect(axisTicks({ lo: 0, hi: 5 }, 5).ticks).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("maps values to pixels, y downwards", () => {
    expect(toPixel({ lo: 0, hi: 10 }, 0, 200, 5)).toBe(100);
    expect(toPixel({ lo: 0, hi: 100 }, 150, 10, 100)).toBe(10);
    expect(toPixel({ lo: 0, hi: 100 }, 150, 10, 0)).toBe(150);
  });

  it("labels ticks with the decimals their step needs, large ones compact", () => {
    expect(formatTick(0.5, 0.5)).toBe("0.5");
    expect(formatTick(1, 0.5)).toBe("1.0");
    expect(formatTick(20, 10)).toBe("20");
    expect(formatTick(2000, 1000)).toBe("2,000");
    expect(formatTick(250_000, 50_000)).toBe("250k");
  });

  it("formats values to four significant digits", () => {
    expect(formatValue(80)).toBe("80");
    expect(formatValue(12345)).toBe("12,345");
    expect(formatValue(1 / 3)).toBe("0.3333");
    expect(formatValue(2.5e-7)).toBe("2.500e-7");
    expect(formatValue(-12.3456)).toBe("-12.35");
  });

  it("finds the extent of sorted xs and of values", () => {
    expect(extentOfSorted([[1, 2, 3], [], [0, 5]])).toEqual([0, 5]);
    expect(extentOfSorted([[], []])).toBeNull();
    expect(extentOf([[3, -1, 2], [7]])).toEqual([-1, 7]);
    expect(extentOf([])).toBeNull();
  });

  it("keeps short series whole and thins long ones to each column's first, lowest, highest and last", () => {
    expect(thin([0, 1, 2], [1, 2, 3], { lo: 0, hi: 2 }, 10)).toEqual([0, 1, 2]);
    const xs = Array.from({ length: 10_000 }, (_, i) => i);
    const ys = xs.map((i) => (i === 5_123 ? 1_000 : i % 7));
    const kept = thin(xs, ys, { lo: 0, hi: 10_000 }, 100);
    expect(kept.length).toBeLessThanOrEqual(400);
    expect(kept).toContain(0);
    expect(kept).toContain(9_999);
    expect(kept).toContain(5_123); // the spike survives
    expect([...kept].sort((a, b) => a - b)).toEqual(kept);
  });

  it("builds an SVG path", () => {
    expect(linePath([[0, 10], [5.25, 2]])).toBe("M0.0,10.0L5.3,2.0");
    expect(linePath([])).toBe("");
  });
});

describe("reading a chart", () => {
  it("finds the nearest point, and the next and previous x across series", () => {
    expect(nearestIndex([0, 1, 2, 4], 2.9)).toBe(2);
    expect(nearestIndex([0, 1, 2, 4], 3.1)).toBe(3);
    expect(nearestIndex([0, 1, 2, 4], -5)).toBe(0);
    expect(nearestIndex([0, 1, 2, 4], 9)).toBe(3);
    expect(nearestIndex([], 1)).toBe(-1);
    const lists = [[0, 2, 4], [1, 4, 6], []];
    expect(nearestX(lists, 5.2)).toBe(6);
    expect(nearestX([[], []], 1)).toBeNull();
    expect(neighbourX(lists, 2, 1)).toBe(4);
    expect(neighbourX(lists, 2, -1)).toBe(1);
    expect(neighbourX(lists, 6, 1)).toBeNull();
    expect(neighbourX(lists, 0, -1)).toBeNull();
  });

  it("moves the reading cursor with the keys, leaving other keys alone", () => {
    const lists = [[0, 2, 4], [1, 4]];
    expect(cursorAfterKey("ArrowRight", null, lists)).toBe(0);
    expect(cursorAfterKey("ArrowLeft", null, lists)).toBe(4);
    expect(cursorAfterKey("ArrowRight", 1, lists)).toBe(2);
    expect(cursorAfterKey("ArrowRight", 4, lists)).toBe(4);
    expect(cursorAfterKey("ArrowLeft", 0, lists)).toBe(0);
    expect(cursorAfterKey("End", 1, lists)).toBe(4);
    expect(cursorAfterKey("Home", 4, lists)).toBe(0);
    expect(cursorAfterKey("Escape", 2, lists)).toBeNull();
    // Not the chart's: Escape with nothing to clear closes the panel; Tab moves on.
    expect(cursorAfterKey("Escape", null, lists)).toBeUndefined();
    expect(cursorAfterKey("Tab", 2, lists)).toBeUndefined();
    expect(cursorAfterKey("ArrowRight", null, [[]])).toBeUndefined();
  });

  it("writes units after values", () => {
    expect(withUnits("60", "%")).toBe("60%");
    expect(withUnits("0.25", "nats")).toBe("0.25 nats");
    expect(withUnits("3", "")).toBe("3");
    expect(withUnits("3", null)).toBe("3");
  });
});
