/**
 * Job outcomes that arrive before the submit that made the job has returned.
 *
 * A job's outcome comes on the event-stream connection; the job's id comes back on the
 * command connection, from `add`. A fast worker can finish the job and its `completed`
 * event can be read before `add`'s reply is, so a waiter registered once `add` returns
 * would wait forever for an event already gone. Every outcome that no waiter claims is
 * kept while a submit that began before it is still in flight, and the submit takes it
 * when its id comes back. An outcome that arrived before the oldest submit in flight
 * began cannot be that submit's (its job did not exist yet), so it is dropped: what is
 * kept is bounded by the events that arrive during the longest submit in flight.
 */
export class EarlyOutcomes<T> {
  #clock = 0;
  /** Submits in flight by ticket; a Set iterates in insertion order, oldest first. */
  readonly #inFlight = new Set<number>();
  /** Unclaimed outcomes by job id, in arrival order. */
  readonly #kept = new Map<string, { readonly at: number; readonly outcome: T }>();

  /** A submit begins: returns its ticket for {@link end}. */
  begin(): number {
    const ticket = ++this.#clock;
    this.#inFlight.add(ticket);
    return ticket;
  }

  /** An outcome no waiter claimed: kept if a submit in flight may be waiting for it. */
  keep(id: string, outcome: T): void {
    if (this.#inFlight.size === 0) return;
    this.#kept.delete(id);
    this.#kept.set(id, { at: ++this.#clock, outcome });
  }

  /**
   * The submit of `ticket` returned `id` (undefined when it failed): returns the outcome
   * of that job if it came first.
   */
  end(ticket: number, id: string | undefined): T | undefined {
    const kept = id === undefined ? undefined : this.#kept.get(id);
    // One that came before this submit began is another job's (ids are never reused).
    const found = kept !== undefined && kept.at > ticket ? kept : undefined;
    this.#inFlight.delete(ticket);
    let oldest = Infinity;
    for (const t of this.#inFlight) {
      oldest = t;
      break;
    }
    for (const [keptId, entry] of this.#kept) {
      if (entry.at > oldest) break;
      this.#kept.delete(keptId);
    }
    return found?.outcome;
  }

  /** How many outcomes are kept (for tests of the bound). */
  get size(): number {
    return this.#kept.size;
  }
}
