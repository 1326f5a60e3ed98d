import { browserScript } from "../common/index.ts";

/**
 * The rater's page script, served as /assets/listening.js: browser/listening-rater.ts bundled for
 * the browser (see common/browser-bundle.ts).
 */
export function listeningRaterScript(): string {
  return browserScript(new URL("./browser/listening-rater.ts", import.meta.url));
}
