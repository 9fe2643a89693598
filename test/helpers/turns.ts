/** Turns of the event loop, counted by a setImmediate callback that schedules itself. */
export interface TurnCounter {
  /** Turns counted so far. */
  readonly turns: () => number;
  /** Stops counting: the callback does not schedule itself again. */
  readonly stop: () => void;
}

/** Starts counting turns of the event loop; call `stop()` before the test ends. */
export function countTurns(): TurnCounter {
  let turns = 0;
  let counting = true;
  const spin = (): void => {
    turns++;
    if (counting) setImmediate(spin);
  };
  setImmediate(spin);
  return { turns: () => turns, stop: () => (counting = false) };
}
