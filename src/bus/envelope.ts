/**
 * What subscribers receive: a plain object, so it is structured-cloneable whenever its
 * payload is (ready to cross a MessagePort or a worker boundary). One envelope is
 * shared by every subscriber of an event; its type is readonly so none can change what
 * another sees (it is not frozen at run time, which would double the cost of publish).
 */
export interface Envelope<Topic extends string = string, Payload = unknown> {
  /** The topic it was published on. */
  readonly topic: Topic;
  /** The publisher's payload, as given (not copied). */
  readonly payload: Payload;
  /** Bus-wide publish sequence number, from 1, increasing. */
  readonly seq: number;
  /** Publish time, `Date.now()`. */
  readonly at: number;
}

/** The topic names of an events map. */
export type Topic<Events> = keyof Events & string;

/** Any envelope for one of the topics `K` of `Events` (a union, so `topic` narrows `payload`). */
export type EnvelopeOf<Events, K extends Topic<Events> = Topic<Events>> = {
  [T in K]: Envelope<T, Events[T]>;
}[K];
