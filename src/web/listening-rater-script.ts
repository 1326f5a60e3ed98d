import { browserScript } from "../common/index.ts";

/**
 * The rater's page script, served as /assets/listening.js: listening-rater.browser.ts bundled for
 * the browser (see common/browser-bundle.ts).
 */
export function listeningRaterScript(): string {
  return browserScript(new URL("./listening-rater.browser.ts", import.meta.url));
}
