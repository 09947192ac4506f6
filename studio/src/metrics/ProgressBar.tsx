/** A progress metric (`cf.progress`, or a scale with `progress=True`) as a bar with its percentage. */

import { type Progress, percent } from "../model/metrics";
import { formatValue } from "./scale";

export function ProgressBar({ progress, label }: { progress: Progress; label: string }) {
  const { fraction, done, total } = progress;
  const shown = fraction === null ? null : percent(fraction);
  const amount = total === null ? formatValue(done) : `${formatValue(done)} / ${formatValue(total)}`;
  return (
    <div class="metric-progress" data-progress={progress.key}>
      <div class="metric-progress-head">
        <span class="mono metric-progress-key">{label}</span>
        <span class="metric-progress-value">
          {shown && <strong>{shown}</strong>} <span class="faint">{amount}</span>
        </span>
      </div>
      <div
        class={`progress-track${fraction === null ? " indeterminate" : ""}`}
        role="progressbar"
        aria-label={label}
        aria-valuemin={fraction === null ? undefined : 0}
        aria-valuemax={fraction === null ? undefined : 100}
        aria-valuenow={shown === null ? undefined : Number(shown.slice(0, -1))}
        aria-valuetext={shown === null ? `${amount} done` : `${shown} (${amount})`}
      >
        {fraction !== null && <div class="progress-fill" style={{ width: `${(fraction * 100).toFixed(2)}%` }} />}
      </div>
    </div>
  );
}
