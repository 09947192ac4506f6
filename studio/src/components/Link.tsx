/** In-app links: real `<a href>` (so they open in new tabs), navigating without reloads. */

import type { ComponentChildren, JSX } from "preact";
import { href, onLinkClick, type Route } from "../router";

type Props = Omit<JSX.HTMLAttributes<HTMLAnchorElement>, "href"> & {
  to: Route | string;
  children?: ComponentChildren;
};

export function Link({ to, children, ...rest }: Props) {
  return (
    <a {...rest} href={typeof to === "string" ? to : href(to)} onClick={onLinkClick}>
      {children}
    </a>
  );
}
