/**
 * The one way a feed document fails intake: {@link FeedParseError}, with a `kind` to
 * branch on and the parser's own message, so a per-feed failure can be recorded and
 * shown without matching message text.
 */
import { WorkbusError } from '../../errors.js';

/**
 * Why a document is not a usable feed:
 * - `'empty'`: no bytes, or only whitespace;
 * - `'malformed'`: it looks like XML or JSON but could not be read (broken syntax, a
 *   corrupt gzip stream, a JSON document that is not a JSON Feed's shape);
 * - `'not-a-feed'`: readable, but something else (an HTML page, another XML document);
 * - `'too-large'`: more bytes, or more once decompressed, than `maxBytes` allows.
 */
export type FeedFailureKind = 'empty' | 'malformed' | 'not-a-feed' | 'too-large';

/** A failure as plain data (structured-cloneable: it crosses worker threads and ports). */
export interface FeedFailure {
  readonly kind: FeedFailureKind;
  /** What went wrong, in a sentence that names the document's problem. */
  readonly message: string;
  /** The underlying parser's (or decompressor's) own message, when one failed; else null. */
  readonly parserMessage: string | null;
  /**
   * For an HTML page: the feeds it advertises with `<link rel="alternate">`
   * (RSS, Atom, JSON Feed), absolute when the page's URL was known. Else empty.
   */
  readonly feedLinks: readonly string[];
}

/**
 * A document could not be taken in as a feed. `code` is always `'FEED_PARSE'`; `kind`
 * says why ({@link FeedFailureKind}). The parser's error, when there was one, is the
 * `cause` and its message is `parserMessage`.
 */
export class FeedParseError extends WorkbusError {
  readonly kind: FeedFailureKind;
  readonly parserMessage: string | null;
  readonly feedLinks: readonly string[];

  constructor(
    kind: FeedFailureKind,
    message: string,
    options?: ErrorOptions & {
      readonly parserMessage?: string | undefined;
      readonly feedLinks?: readonly string[] | undefined;
    },
  ) {
    super('FEED_PARSE', message, options);
    this.kind = kind;
    this.parserMessage = options?.parserMessage ?? null;
    this.feedLinks = Object.freeze([...(options?.feedLinks ?? [])]);
  }

  override get name(): 'FeedParseError' {
    return 'FeedParseError';
  }

  /** This failure as plain data, for a worker thread's reply or a store's failure record. */
  toFailure(): FeedFailure {
    return {
      kind: this.kind,
      message: this.message,
      parserMessage: this.parserMessage,
      feedLinks: [...this.feedLinks],
    };
  }

  /** The error again, from a {@link FeedFailure} that crossed a thread boundary. */
  static fromFailure(failure: FeedFailure): FeedParseError {
    return new FeedParseError(failure.kind, failure.message, {
      parserMessage: failure.parserMessage ?? undefined,
      feedLinks: failure.feedLinks,
    });
  }
}

/** The message of whatever a parser threw, for `parserMessage`. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
