/** Render Preact components into the test DOM (happy-dom) and clean up after. */

import { type ComponentChild, render } from "preact";
import { act } from "preact/test-utils";
import { afterEach } from "vitest";

const roots: HTMLElement[] = [];

export function mount(vnode: ComponentChild): HTMLElement {
  const root = document.createElement("div");
  document.body.appendChild(root);
  roots.push(root);
  act(() => {
    render(vnode, root);
  });
  return root;
}

afterEach(() => {
  for (const root of roots.splice(0)) {
    act(() => render(null, root));
    root.remove();
  }
});

export async function flush(): Promise<void> {
  await act(async () => {
    await new Promise((resolve) => setTimeout(resolve, 0));
  });
}
