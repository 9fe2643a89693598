/**
 * "Abort at every step": run a scenario once to count the microtask turns it takes
 * to finish, then run it again once per turn, aborting its signal after 0, 1, … N+1
 * turns. The scenario asserts its own invariants (no permit, slot, waiter or listener
 * leaked) whatever point the abort hit, so every internal step of an operation is
 * exercised as an abort point.
 */

/** Microtask turns until `promise` settles (throws past `limit`, which means it hangs). */
export async function turnsUntilSettled(
  promise: Promise<unknown>,
  limit = 100_000,
): Promise<number> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  let turns = 0;
  while (!settled) {
    await Promise.resolve();
    if (++turns > limit) throw new Error(`scenario did not settle within ${limit} microtask turns`);
  }
  return turns;
}

/** Waits `n` microtask turns. */
export async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

/**
 * Runs `scenario` with an abort landing after each microtask turn in turn.
 * @returns the number of turns the unaborted scenario took (so a test can assert it
 * really had steps to abort).
 */
export async function abortAtEveryStep(
  scenario: (signal: AbortSignal) => Promise<void>,
): Promise<number> {
  const steps = await turnsUntilSettled(scenario(new AbortController().signal));
  for (let k = 0; k <= steps + 1; k++) {
    const controller = new AbortController();
    const run = scenario(controller.signal);
    await turns(k);
    controller.abort(new Error(`abort after ${k} turns`));
    try {
      await run;
    } catch (error) {
      throw new Error(`scenario failed with the abort after ${k} of ${steps} turns`, {
        cause: error,
      });
    }
  }
  return steps;
}
