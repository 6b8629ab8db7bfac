/** One turn of the event loop (setImmediate), so sink workers and timers run between chunks. */
export const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
