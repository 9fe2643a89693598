/**
 * Every file of the shared feed fixtures goes through decode → parse → normalise, in this
 * thread: each one either yields a document or fails with a FeedParseError naming its kind
 * and the parser's message; nothing else is ever thrown, and no feed changes how another
 * is read. Failures are listed below, file by file, with why: no silent skips.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  FeedParseError,
  intakeFeed,
  type FeedFailureKind,
  type IntakeResult,
} from '../../../src/feed/intake/index.js';
import { fixture, FIXTURES } from './helpers.js';

type ManifestKind = 'rss2' | 'atom' | 'rdf' | 'json' | 'malformed' | 'other';

interface Row {
  readonly file: string;
  readonly kind: ManifestKind;
  readonly notes: string;
}

const manifest: Row[] = readFileSync(new URL('MANIFEST.tsv', FIXTURES), 'utf8')
  .trim()
  .split('\n')
  .slice(1)
  .map((line) => {
    const [file = '', , , , kind = '', , notes = ''] = line.split('\t');
    return { file, kind: kind as ManifestKind, notes };
  });

/**
 * Every file that fails, with the kind of failure and why. Files of the well-formed kinds
 * (rss2, atom, rdf, json) that fail are bugs unless listed here with a reason.
 */
const EXPECTED_FAILURES: Record<string, { kind: FeedFailureKind; why: string }> = {
  // Well-formed kinds: encoding test stubs of kurtmckee/feedparser whose <rss> has no
  // <channel>. They decode correctly (decode.test.ts checks each); there is no feed in them.
  'feedparser__encoding_http_text_xml_charset_overrides_encoding.xml': {
    kind: 'empty',
    why: '<rss> without <channel>',
  },
  'feedparser__encoding_utf-16be-bom.xml': { kind: 'empty', why: '<rss> without <channel>' },
  'feedparser__encoding_utf-16le-autodetect.xml': { kind: 'empty', why: '<rss> without <channel>' },
  'feedparser__encoding_utf-32be-bom.xml': { kind: 'empty', why: '<rss> without <channel>' },
  'feedparser__encoding_utf-8-bom.xml': { kind: 'empty', why: '<rss> without <channel>' },
  'feedparser__rdf_doctype_contains_entity_decl.xml': {
    kind: 'malformed',
    why: "fast-xml-parser (feed-parser's XML reader) refuses a parameter entity (%HTMLlat1;) in the DOCTYPE",
  },
  // malformed
  'feedparser__encoding_bozo_bogus_encoding.xml': { kind: 'empty', why: '<rss> without <channel>' },
  'feedparser__encoding_bozo_invalid-bytes-with-bom.xml': {
    kind: 'malformed',
    why: 'an unclosed tag',
  },
  'feedparser__illformed_rdf_channel_empty_textinput.xml': {
    kind: 'malformed',
    why: 'an unclosed tag',
  },
  'feedparser__illformed_rss_empty_document.xml': {
    kind: 'empty',
    why: 'a comment and no element',
  },
  'gofeed__universal_empty_feed.xml': { kind: 'empty', why: '0 bytes' },
  'rsparser__allthis-partial.json': { kind: 'malformed', why: 'truncated JSON' },
  // other
  'feed-rs__xml_sample_1.xml': { kind: 'not-a-feed', why: 'root element <catalog>' },
  'feedparser__cdf_channel_title.xml': { kind: 'not-a-feed', why: 'a CDF <CHANNEL>' },
  'feedjira__DuplicateContentAtomFeed.xml': {
    kind: 'not-a-feed',
    why: 'an XHTML page around an Atom <feed>',
  },
  'rome__modules_2.rss': { kind: 'not-a-feed', why: 'an HTML page; it advertises its feed' },
  'rsparser__ScriptingNews.json': { kind: 'not-a-feed', why: 'RSS-in-JSON, not JSON Feed' },
};

type Outcome =
  | { readonly status: 'items' | 'empty'; readonly result: IntakeResult }
  | { readonly status: 'failed'; readonly error: FeedParseError }
  | { readonly status: 'crashed'; readonly error: unknown };

function run(file: string): Outcome {
  try {
    const result = intakeFeed({ bytes: fixture(file) });
    return { status: result.document.items.length > 0 ? 'items' : 'empty', result };
  } catch (error) {
    return error instanceof FeedParseError
      ? { status: 'failed', error }
      : { status: 'crashed', error };
  }
}

/** Each file's outcome as plain data, to compare runs. */
function digest(outcome: Outcome): unknown {
  if (outcome.status === 'failed') return outcome.error.toFailure();
  if (outcome.status === 'crashed') return String(outcome.error);
  return outcome.result;
}

describe('the feed fixture corpus', () => {
  const outcomes = new Map(manifest.map((row) => [row.file, run(row.file)]));

  it('the manifest lists every fixture file, and each exists', () => {
    const files = readdirSync(FIXTURES).filter(
      (name) => !/^(MANIFEST\.tsv|README\.md|NOTICE\.md)$/.test(name),
    );
    expect(manifest.map((row) => row.file).sort()).toEqual(files.sort());
    expect(manifest).toHaveLength(259);
  });

  it('nothing throws other than FeedParseError', () => {
    const crashed = [...outcomes].filter(([, outcome]) => outcome.status === 'crashed');
    expect(
      crashed.map(([file, outcome]) => `${file}: ${String((outcome as { error: unknown }).error)}`),
    ).toEqual([]);
  });

  it('exactly the listed files fail, each with its listed kind, a message and (where a parser failed) its message', () => {
    const failed: Record<string, FeedFailureKind> = {};
    for (const [file, outcome] of outcomes) {
      if (outcome.status !== 'failed') continue;
      failed[file] = outcome.error.kind;
      expect(outcome.error.code).toBe('FEED_PARSE');
      expect(outcome.error.message.length).toBeGreaterThan(10);
      if (outcome.error.kind === 'malformed') expect(outcome.error.parserMessage).toBeTruthy();
    }
    const expected = Object.fromEntries(
      Object.entries(EXPECTED_FAILURES).map(([file, { kind }]) => [file, kind]),
    );
    expect(failed).toEqual(expected);
  });

  it('counts by manifest kind: parsed with items, parsed empty, failed', () => {
    const counts: Record<string, { items: number; empty: number; failed: number }> = {};
    for (const row of manifest) {
      const status = outcomes.get(row.file)?.status;
      const entry = (counts[row.kind] ??= { items: 0, empty: 0, failed: 0 });
      if (status === 'items' || status === 'empty' || status === 'failed') entry[status]++;
    }
    console.info(`feed corpus by manifest kind: ${JSON.stringify(counts)}`);
    expect(counts).toEqual({
      rss2: { items: 120, empty: 6, failed: 5 },
      atom: { items: 56, empty: 2, failed: 0 },
      rdf: { items: 14, empty: 2, failed: 1 },
      json: { items: 12, empty: 0, failed: 0 },
      malformed: { items: 25, empty: 4, failed: 6 },
      other: { items: 1, empty: 0, failed: 5 },
    });
  });

  it('a document parsed empty says so in the manifest (items=0)', () => {
    const emptyButNotInManifest = manifest.filter(
      (row) => outcomes.get(row.file)?.status === 'empty' && !/(^|; )items=0(;|$)/.test(row.notes),
    );
    expect(emptyButNotInManifest.map((row) => row.file)).toEqual([
      // Its one defect is an attribute with a prefix never declared; feed-parser then
      // finds no items in it.
      'feedjira__ITunesWithSingleQuotedAttributes.xml',
    ]);
  });

  it('the documents it reads have keys, absolute links and numeric dates', () => {
    for (const outcome of outcomes.values()) {
      if (outcome.status !== 'items') continue;
      for (const item of outcome.result.document.items) {
        expect(item.key).not.toBe('');
        if (item.link !== null) expect(() => new URL(item.link!)).not.toThrow();
        expect(item.publishedAt === null || Number.isFinite(item.publishedAt)).toBe(true);
        expect(item.updatedAt === null || Number.isFinite(item.updatedAt)).toBe(true);
      }
    }
  });

  it('the HTML page names the feed it advertises; the gzip file is read', () => {
    const page = outcomes.get('rome__modules_2.rss');
    expect(page?.status === 'failed' && page.error.feedLinks).toEqual([
      "http://web.mac.com/stuartbainbridge/iPhoto/the-5-6-7-8's-red-cloth/index.rss",
    ]);
    const gzipped = outcomes.get('node-feedparser__invalid-characters-gzipped.xml.gz');
    expect(gzipped?.status === 'items' && gzipped.result.decoded.compression).toBe('gzip');
  });

  it('a bad feed never affects another: the corpus read in reverse order gives the same outcomes', () => {
    const reversed = new Map(
      [...manifest].reverse().map((row) => [row.file, digest(run(row.file))]),
    );
    for (const [file, outcome] of outcomes)
      expect(reversed.get(file), file).toEqual(digest(outcome));
  });
});
