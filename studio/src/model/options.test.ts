import { describe, expect, it } from "vitest";
import { optionTags, retriesTag } from "./options";

describe("target options", () => {
  it("says 'unlimited' for retries without a limit, and gives the back-off", () => {
    expect(retriesTag({ limit: null, delay_min: 1, delay_max: 60 })).toBe("retries unlimited, back-off 1 s–60 s");
    expect(retriesTag({ limit: null })).toBe("retries unlimited");
    expect(retriesTag({ limit: 3, delay_min: 0.5, delay_max: 0.5 })).toBe("retries 3, back-off 0.5 s");
    expect(retriesTag({ limit: 2, delay_min: 0, delay_max: 10 })).toBe("retries 2, back-off 0 s–10 s");
  });

  it("lists the options set, timeout and recurrence included", () => {
    expect(optionTags({ retries: { limit: null, delay_max: 0 }, timeout: 1, recurrent: true, cache: { max_age: 300 } })).toEqual([
      "cache 300 s",
      "retries unlimited",
      "timeout 1 s",
      "recurrent",
    ]);
    expect(optionTags({ timeout: 0, delay: 0 })).toEqual([]);
    expect(optionTags(null)).toEqual([]);
  });

  it("tags memo on all arguments, not memo turned off, and a workflow's memo for its run", () => {
    expect(optionTags({ memo: [] })).toEqual(["memo"]);
    expect(optionTags({ memo: false })).toEqual([]);
    expect(optionTags({ memo_calls: true })).toEqual(["memo for the run"]);
  });
});
