/** Studio's entry point. */

import { render } from "preact";
import { App } from "./App";
import { applyTheme, storedTheme, watchSystemTheme } from "./theme";
import "./styles/base.css";
import "./styles/layout.css";
import "./styles/run.css";
import "./styles/metrics.css";

applyTheme(storedTheme());
watchSystemTheme();
render(<App />, document.getElementById("app") as HTMLElement);
