/**
 * Arrow-key navigation inside a container: Up/Down (and Home/End) move focus
 * between its `[data-nav]` items; Left/Right are left to the items (collapse,
 * expand). Tab still leaves the container as usual.
 */

export function navKeyDown(event: KeyboardEvent): void {
  const container = event.currentTarget as HTMLElement;
  const items = [...container.querySelectorAll<HTMLElement>("[data-nav]")].filter((el) => el.offsetParent !== null || el === document.activeElement);
  const index = items.indexOf(document.activeElement as HTMLElement);
  let next: HTMLElement | undefined;
  switch (event.key) {
    case "ArrowDown":
      next = items[index < 0 ? 0 : Math.min(items.length - 1, index + 1)];
      break;
    case "ArrowUp":
      next = items[index < 0 ? 0 : Math.max(0, index - 1)];
      break;
    case "Home":
      next = items[0];
      break;
    case "End":
      next = items[items.length - 1];
      break;
    default:
      return;
  }
  if (next) {
    event.preventDefault();
    next.focus();
  }
}
