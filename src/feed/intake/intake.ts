/**
 * The intake's pure stages in one call: bytes → decode → parse → normalise. Synchronous
 * and CPU-bound: on the main thread it blocks the event loop for as long as a large feed
 * takes, so apps run it on a worker type (`intake.worker.ts`) and keep this in-thread
 * call for tests, scripts and runtimes without worker threads.
 */
import { abortOptions, throwIfAborted } from '../../abort.js';
import { integer, options as checkOptions } from '../../validate.js';
import { decodeFeedBytes, DEFAULT_MAX_BYTES, type DecodedFeed } from './decode.js';
import { FeedParseError, type FeedFailure } from './errors.js';
import { DEFAULT_SUMMARY_LENGTH, normalizeFeed, type FeedDocument } from './normalize.js';
import { parseFeedText } from './parse.js';

/** One fetched feed body and what is known about it. Plain data: it is sent to threads. */
export interface IntakeInput {
  /** The response body, as received (gzip-compressed bytes are recognised). */
  readonly bytes: Uint8Array;
  /** The response's `Content-Type` header: its `charset` decides the encoding after a BOM. */
  readonly contentType?: string | undefined;
  /** The URL the feed was fetched from: relative links resolve against it. */
  readonly url?: string | undefined;
  /** @see DecodeOptions.maxBytes @default 33554432 (32 MiB) */
  readonly maxBytes?: number | undefined;
  /** @see NormalizeOptions.summaryLength @default 500 */
  readonly summaryLength?: number | undefined;
}

/** How the bytes were read: {@link DecodedFeed} without the text. */
export type DecodeReport = Omit<DecodedFeed, 'text'>;

/** A feed taken in. */
export interface IntakeResult {
  readonly document: FeedDocument;
  readonly decoded: DecodeReport;
}

/**
 * A feed taken in, or why not, as plain data: the form a worker thread answers in, since
 * cloning a thrown error keeps neither its class nor its `kind`.
 */
export type IntakeOutcome =
  | { readonly ok: true; readonly result: IntakeResult }
  | { readonly ok: false; readonly failure: FeedFailure };

const INPUT_KEYS = ['bytes', 'contentType', 'url', 'maxBytes', 'summaryLength'] as const;

/**
 * Decodes, parses and normalises one feed body, in this thread.
 *
 * @throws FeedParseError when the body is not a usable feed (its `kind` says why);
 * an abort error when `signal` aborts (checked between stages and between items);
 * TypeError/RangeError for bad input.
 */
export function intakeFeed(
  input: IntakeInput,
  options: { readonly signal?: AbortSignal | undefined } = {},
): IntakeResult {
  const signal = abortOptions('intakeFeed options', options);
  const record = checkOptions('intake input', input, INPUT_KEYS);
  if (!(record['bytes'] instanceof Uint8Array)) {
    throw new TypeError('intake input.bytes must be a Uint8Array (a Buffer is one)');
  }
  const contentType = optionalString('intake input.contentType', record['contentType']);
  const url = optionalString('intake input.url', record['url']);
  const maxBytes =
    record['maxBytes'] === undefined
      ? DEFAULT_MAX_BYTES
      : integer('intake input.maxBytes', record['maxBytes'], 1);
  const summaryLength =
    record['summaryLength'] === undefined
      ? DEFAULT_SUMMARY_LENGTH
      : integer('intake input.summaryLength', record['summaryLength'], 1);

  throwIfAborted(signal);
  const { text, ...decoded } = decodeFeedBytes(record['bytes'], { contentType, maxBytes });
  throwIfAborted(signal);
  const parsed = parseFeedText(text, { url });
  throwIfAborted(signal);
  const document = normalizeFeed(parsed, { url, summaryLength, signal });
  return { document, decoded };
}

/**
 * {@link intakeFeed} with a {@link FeedParseError} returned as `{ ok: false, failure }`
 * instead of thrown; anything else (an abort, bad input) is still thrown.
 */
export function intakeOutcome(
  input: IntakeInput,
  options: { readonly signal?: AbortSignal | undefined } = {},
): IntakeOutcome {
  try {
    return { ok: true, result: intakeFeed(input, options) };
  } catch (error) {
    if (error instanceof FeedParseError) return { ok: false, failure: error.toFailure() };
    throw error;
  }
}

/**
 * The result of an {@link IntakeOutcome}, or its failure thrown as a
 * {@link FeedParseError} again (after a worker thread's answer).
 * @throws FeedParseError for a failed outcome.
 */
export function intakeResultOf(outcome: IntakeOutcome): IntakeResult {
  if (outcome.ok) return outcome.result;
  throw FeedParseError.fromFailure(outcome.failure);
}

function optionalString(field: string, value: unknown): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  throw new TypeError(`${field} must be a string, got ${typeof value}`);
}
