import { describe, expect, it } from "vitest";
import { tickLabel, ticks, tickStep, toX } from "./scale";

describe("timeline scale", () => {
  it("maps times to pixels", () => {
    expect(toX({ t0: 10, t1: 20, width: 500 }, 15)).toBe(250);
  });

  it("picks readable tick steps", () => {
    expect(tickStep(10)).toBe(2);
    expect(tickStep(0.5)).toBe(0.1);
    expect(ticks({ t0: 0, t1: 10, width: 100 })).toEqual([0, 2, 4, 6, 8, 10]);
    expect(tickLabel(0.2, 0.1)).toBe("0.2 s");
    expect(tickLabel(120, 60)).toBe("2 m");
  });
});
