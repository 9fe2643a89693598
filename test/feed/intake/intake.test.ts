/**
 * intakeFeed / intakeOutcome / intakeResultOf and FeedParseError: the in-thread pipeline's
 * arguments, abort, and failures as errors or as plain data.
 */
import { describe, expect, it } from 'vitest';
import { isAbortError } from '../../../src/abort.js';
import { WorkbusError } from '../../../src/errors.js';
import {
  FeedParseError,
  intakeFeed,
  intakeOutcome,
  intakeResultOf,
} from '../../../src/feed/intake/index.js';
import { thrownBy } from '../../pool/work-pool.helpers.js';
import { bytes } from './helpers.js';

const RSS = bytes(
  '<rss version="2.0"><channel><title>T</title><item><guid>1</guid></item></channel></rss>',
);

describe('FeedParseError', () => {
  it('has the FEED_PARSE code, its literal name, a kind, and survives a round trip as plain data', () => {
    const cause = new Error('Unexpected end');
    const error = new FeedParseError('malformed', 'The XML document could not be parsed', {
      cause,
      parserMessage: cause.message,
    });
    expect(error).toBeInstanceOf(WorkbusError);
    expect(error).toMatchObject({
      code: 'FEED_PARSE',
      name: 'FeedParseError',
      kind: 'malformed',
      cause,
      feedLinks: [],
    });
    const failure = error.toFailure();
    expect(structuredClone(failure)).toEqual({
      kind: 'malformed',
      message: 'The XML document could not be parsed',
      parserMessage: 'Unexpected end',
      feedLinks: [],
    });
    const again = FeedParseError.fromFailure(failure);
    expect(again).toBeInstanceOf(FeedParseError);
    expect(again.toFailure()).toEqual(failure);
  });
});

describe('intakeFeed', () => {
  it('decodes, parses and normalises, reporting how the bytes were read', () => {
    expect(intakeFeed({ bytes: RSS, contentType: 'application/rss+xml' })).toMatchObject({
      document: { format: 'rss', title: 'T', items: [{ key: '1', keySource: 'guid' }] },
      decoded: { encoding: 'utf-8', source: 'default', ignored: [], compression: null },
    });
  });

  it('an aborted signal stops it before any work', () => {
    const controller = new AbortController();
    controller.abort();
    expect(thrownBy(() => intakeFeed({ bytes: RSS }, { signal: controller.signal }))).toSatisfy(
      isAbortError,
    );
  });

  it('refuses unknown keys, bytes that are not a Uint8Array, and bad limits', () => {
    expect(() => intakeFeed({ bytes: RSS, charset: 'utf-8' } as never)).toThrow(
      /intake input has an unknown option 'charset'/,
    );
    expect(() => intakeFeed({ bytes: '<rss/>' } as never)).toThrow(
      /intake input.bytes must be a Uint8Array .*got string/,
    );
    expect(() => intakeFeed({ bytes: RSS, summaryLength: 1.5 })).toThrow(RangeError);
    expect(() => intakeFeed({ bytes: RSS, url: 42 } as never)).toThrow(
      /intake input.url must be a non-empty string/,
    );
    expect(() => intakeFeed({ bytes: RSS }, { sginal: undefined } as never)).toThrow(
      /did you mean 'signal'/,
    );
  });
});

describe('intakeOutcome and intakeResultOf', () => {
  it('a feed is { ok: true, result }, and intakeResultOf gives the result back', () => {
    const outcome = intakeOutcome({ bytes: RSS });
    expect(outcome.ok).toBe(true);
    expect(intakeResultOf(outcome)).toEqual(intakeFeed({ bytes: RSS }));
  });

  it('a bad feed is { ok: false, failure } instead of a throw; intakeResultOf throws it again', () => {
    const outcome = intakeOutcome({ bytes: bytes('') });
    expect(outcome).toEqual({
      ok: false,
      failure: {
        kind: 'empty',
        message: 'The document is empty',
        parserMessage: null,
        feedLinks: [],
      },
    });
    expect(thrownBy(() => intakeResultOf(outcome))).toMatchObject({
      name: 'FeedParseError',
      kind: 'empty',
    });
  });

  it('anything that is not a feed failure still throws (an abort is not a bad feed)', () => {
    const controller = new AbortController();
    controller.abort();
    expect(thrownBy(() => intakeOutcome({ bytes: RSS }, { signal: controller.signal }))).toSatisfy(
      isAbortError,
    );
  });
});
