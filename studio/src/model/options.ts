/**
 * A target's options (cache, retries, timeout, ...) as short tags for people, shown
 * on a workflow's page and in a step's panel.
 */

import type { TargetOptions } from "../api/types";
import { formatSeconds } from "./format";

type Retries = NonNullable<TargetOptions["retries"]>;

/** "retries 3", "retries unlimited", with the back-off when there is one. */
export function retriesTag(retries: Retries): string {
  const limit = retries.limit === null ? "unlimited" : String(retries.limit);
  const min = retries.delay_min ?? 0;
  const max = retries.delay_max ?? 0;
  if (max === 0) return `retries ${limit}`;
  const backoff = min === max ? formatSeconds(min) : `${formatSeconds(min)}–${formatSeconds(max)}`;
  return `retries ${limit}, back-off ${backoff}`;
}

export function optionTags(options: TargetOptions | null | undefined): string[] {
  if (!options) return [];
  const tags: string[] = [];
  if (options.cache) tags.push(options.cache.max_age ? `cache ${formatSeconds(options.cache.max_age)}` : "cache");
  if (options.retries) tags.push(retriesTag(options.retries));
  if (options.timeout) tags.push(`timeout ${formatSeconds(options.timeout)}`);
  if (options.recurrent) tags.push("recurrent");
  if (options.defer) tags.push("defer");
  if (Array.isArray(options.memo)) tags.push("memo");
  if (options.memo_calls) tags.push("memo for the run");
  if (options.delay) tags.push(`delay ${formatSeconds(options.delay)}`);
  if (options.wait && options.wait.length > 0) tags.push("wait");
  for (const [key, values] of Object.entries(options.requires ?? {})) tags.push(`requires ${key}=${values.join(",")}`);
  return tags;
}
