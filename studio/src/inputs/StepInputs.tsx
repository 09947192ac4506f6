/**
 * The step panel's inputs: every prompt the step's executions asked, as they were
 * asked, each as a card with its state; a waiting one can be answered right there.
 * Nothing is shown for a step that asked for none.
 */

import type { ValueLinks } from "../components/ValueView";
import type { InputsSource } from "../live/inputs";
import type { Step } from "../model/run";
import { inputsOfExecutions } from "./book";
import { InputCard } from "./InputCard";

interface Props {
  project: string;
  source: InputsSource;
  step: Step;
  links?: ValueLinks | undefined;
}

export function StepInputs({ project, source, step, links }: Props) {
  if (source.missing) return null;
  const inputs = inputsOfExecutions(source.book, new Set(step.executions.map((e) => e.id)));
  if (inputs.length === 0) return null;
  return (
    <section class="step-section" data-testid="step-inputs">
      <h3>Inputs</h3>
      <div class="stack">
        {inputs.map((input) => (
          <InputCard key={input.id} project={project} input={input} source={source} links={links} level={4} />
        ))}
      </div>
    </section>
  );
}
