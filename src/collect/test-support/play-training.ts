import type { Browser } from "playwright-core";

/**
 * Opens the player page on a training, as a person would, and waits until the page says it is done
 * or reports an error (up to 60 s). Returns the player's error, or null.
 */
export async function playTrainingInPage(
  browser: Browser,
  baseUrl: string,
  trainingId: number,
): Promise<string | null> {
  const page = await browser.newPage();
  try {
    await page.goto(`${baseUrl}/player?training=${trainingId}`);
    await page.waitForFunction(
      () => {
        const w = window as unknown as { qoelabDone?: boolean; qoelabError?: string };
        return w.qoelabDone === true || typeof w.qoelabError === "string";
      },
      undefined,
      { timeout: 60_000, polling: 250 },
    );
    return await page.evaluate(() => (window as unknown as { qoelabError?: string }).qoelabError ?? null);
  } finally {
    await page.close();
  }
}
