/** Runs `body` with a signal that aborts on Ctrl-C (SIGINT), so a long run can stop and still report. */
export async function withSigintAbort<T>(body: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once("SIGINT", onSigint);
  try {
    return await body(controller.signal);
  } finally {
    process.off("SIGINT", onSigint);
  }
}
