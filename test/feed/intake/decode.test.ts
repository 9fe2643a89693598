/**
 * decodeFeedBytes: the encoding precedence (BOM, then Content-Type charset, then the XML
 * declaration, then UTF-8), legacy encodings, unknown labels and gzip.
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeFeedBytes, FeedParseError, intakeFeed } from '../../../src/feed/intake/index.js';
import { thrownBy } from '../../pool/work-pool.helpers.js';
import { bytes, CP1251_TITLE, fixture, LATIN1_TITLE, rssWithTitle, SJIS_TITLE } from './helpers.js';

const UTF8_BOM = [0xef, 0xbb, 0xbf];
/** "Привет, мир" in UTF-8. */
const UTF8_PRIVET = [
  0xd0, 0x9f, 0xd1, 0x80, 0xd0, 0xb8, 0xd0, 0xb2, 0xd0, 0xb5, 0xd1, 0x82, 0x2c, 0x20, 0xd0, 0xbc,
  0xd0, 0xb8, 0xd1, 0x80,
];

function titleOf(input: Parameters<typeof intakeFeed>[0]): string | null {
  return intakeFeed(input).document.items[0]?.title ?? null;
}

describe('legacy encodings decode to the text the publisher wrote', () => {
  const cases = [
    { name: 'ISO-8859-1', label: 'iso-8859-1', title: LATIN1_TITLE, encoding: 'windows-1252' },
    { name: 'windows-1251', label: 'windows-1251', title: CP1251_TITLE, encoding: 'windows-1251' },
    { name: 'Shift_JIS', label: 'Shift_JIS', title: SJIS_TITLE, encoding: 'shift_jis' },
  ] as const;

  it.each(cases)('$name declared by the XML declaration', ({ label, title, encoding }) => {
    const input = { bytes: rssWithTitle(title.bytes, label) };
    expect(titleOf(input)).toBe(title.text);
    expect(decodeFeedBytes(input.bytes)).toMatchObject({ encoding, source: 'xml-declaration' });
  });

  it.each(cases)('$name declared by the Content-Type charset', ({ label, title, encoding }) => {
    const input = {
      bytes: rssWithTitle(title.bytes),
      contentType: `application/rss+xml; charset=${label}`,
    };
    expect(titleOf(input)).toBe(title.text);
    expect(decodeFeedBytes(input.bytes, { contentType: input.contentType })).toMatchObject({
      encoding,
      source: 'content-type',
    });
  });

  it('a real ISO-8859-1 feed declared by its prolog (feed-rs rss_2.0_encoding_1)', () => {
    const { document, decoded } = intakeFeed({ bytes: fixture('feed-rs__rss_2.0_encoding_1.xml') });
    expect(decoded).toMatchObject({ encoding: 'windows-1252', source: 'xml-declaration' });
    expect(document.title).toBe('RSS Feed do Site Inovação Tecnológica');
    expect(document.items[0]?.title).toBe(
      'Revolução nas telas com pontos quânticos impressos em 3D',
    );
  });

  it('a real Shift_JIS feed that declares nothing, given its charset by Content-Type (feedparser illformed_chardet_shiftjis)', () => {
    const { document, decoded } = intakeFeed({
      bytes: fixture('feedparser__illformed_chardet_shiftjis.xml'),
      contentType: 'application/atom+xml; charset=Shift_JIS',
    });
    expect(decoded).toMatchObject({ encoding: 'shift_jis', source: 'content-type' });
    expect(document.items[0]?.title).toBe('DrecomRSSに記事投稿が反映されない…');
  });
});

describe('precedence: BOM, then Content-Type, then the XML declaration, then UTF-8', () => {
  it('a BOM beats a Content-Type charset and the declaration', () => {
    const input = bytes(
      UTF8_BOM,
      '<?xml version="1.0" encoding="windows-1251"?><rss><channel><item><title>',
      UTF8_PRIVET,
      '</title></item></channel></rss>',
    );
    const decoded = decodeFeedBytes(input, { contentType: 'text/xml; charset=iso-8859-1' });
    expect(decoded).toMatchObject({ encoding: 'utf-8', source: 'bom' });
    expect(decoded.text).toContain('<title>Привет, мир</title>');
    expect(decoded.text.startsWith('<?xml')).toBe(true); // the BOM is not part of the text
  });

  it('a Content-Type charset beats the XML declaration (a server that re-encoded the feed)', () => {
    const input = rssWithTitle(CP1251_TITLE.bytes, 'iso-8859-1');
    const decoded = decodeFeedBytes(input, {
      contentType: 'application/xml;charset="windows-1251"',
    });
    expect(decoded).toMatchObject({ encoding: 'windows-1251', source: 'content-type' });
    expect(decoded.text).toContain(CP1251_TITLE.text);
  });

  it('reads a charset written with spaces around "=" (feedparser encoding_http_text_xml_charset_overrides_encoding)', () => {
    const decoded = decodeFeedBytes(
      fixture('feedparser__encoding_http_text_xml_charset_overrides_encoding.xml'),
      {
        contentType: 'text/xml;charset = us-ascii',
      },
    );
    expect(decoded.source).toBe('content-type');
    // The WHATWG Encoding Standard reads "us-ascii" as windows-1252, as browsers do.
    expect(decoded.encoding).toBe('windows-1252');
  });

  it('a Content-Type without a charset leaves the choice to the declaration', () => {
    const decoded = decodeFeedBytes(rssWithTitle(LATIN1_TITLE.bytes, 'ISO-8859-1'), {
      contentType: 'application/rss+xml',
    });
    expect(decoded).toMatchObject({ source: 'xml-declaration', encoding: 'windows-1252' });
    expect(decoded.text).toContain(LATIN1_TITLE.text);
  });

  it('nothing declared: UTF-8', () => {
    const decoded = decodeFeedBytes(rssWithTitle(UTF8_PRIVET));
    expect(decoded).toMatchObject({ encoding: 'utf-8', source: 'default', ignored: [] });
    expect(decoded.text).toContain('Привет, мир');
  });

  it('nothing declared and not valid UTF-8: windows-1252, reported as a fallback', () => {
    const decoded = decodeFeedBytes(rssWithTitle(LATIN1_TITLE.bytes));
    expect(decoded).toMatchObject({ encoding: 'windows-1252', source: 'fallback' });
    expect(decoded.text).toContain(LATIN1_TITLE.text);
  });

  it('whitespace before the XML declaration does not hide it', () => {
    const input = bytes(
      '\n  <?xml version="1.0" encoding="windows-1251"?><rss><channel><item><title>',
      CP1251_TITLE.bytes,
      '</title></item></channel></rss>',
    );
    expect(decodeFeedBytes(input)).toMatchObject({
      source: 'xml-declaration',
      encoding: 'windows-1251',
    });
    expect(titleOf({ bytes: input })).toBe(CP1251_TITLE.text);
  });
});

describe('unknown and impossible labels fall back clearly', () => {
  it('an unknown Content-Type charset is passed over and the declaration decides', () => {
    const decoded = decodeFeedBytes(rssWithTitle(CP1251_TITLE.bytes, 'windows-1251'), {
      contentType: 'text/xml; charset=klingon',
    });
    expect(decoded).toMatchObject({ source: 'xml-declaration', encoding: 'windows-1251' });
    expect(decoded.ignored).toEqual([
      { source: 'content-type', label: 'klingon', reason: 'not an encoding this runtime knows' },
    ]);
  });

  it('an unknown declared encoding falls to UTF-8 (feedparser encoding_bozo_bogus_encoding)', () => {
    const decoded = decodeFeedBytes(fixture('feedparser__encoding_bozo_bogus_encoding.xml'));
    expect(decoded).toMatchObject({ source: 'default', encoding: 'utf-8' });
    expect(decoded.ignored).toEqual([
      { source: 'xml-declaration', label: 'bogus', reason: 'not an encoding this runtime knows' },
    ]);
  });

  it('a UTF-16 declaration on single-byte text is passed over', () => {
    const decoded = decodeFeedBytes(rssWithTitle(UTF8_PRIVET, 'utf-16'));
    expect(decoded).toMatchObject({ source: 'default', encoding: 'utf-8' });
    expect(decoded.ignored).toEqual([
      {
        source: 'xml-declaration',
        label: 'utf-16',
        reason: 'a UTF-16 label on bytes that are not UTF-16',
      },
    ]);
  });
});

describe('Unicode byte order marks and UTF-16 without one', () => {
  it.each([
    ['feedparser__encoding_utf-8-bom.xml', 'utf-8', 'bom'],
    ['feedparser__encoding_utf-16be-bom.xml', 'utf-16be', 'bom'],
    ['feedparser__encoding_utf-32be-bom.xml', 'utf-32be', 'bom'],
    ['feedparser__encoding_utf-16le-autodetect.xml', 'utf-16le', 'byte-pattern'],
  ])('%s decodes as %s (%s)', (name, encoding, source) => {
    const decoded = decodeFeedBytes(fixture(name));
    expect(decoded).toMatchObject({ encoding, source });
    expect(decoded.text).toMatch(/^<\?xml version="1.0" encoding="[\w-]+"\?>/);
    expect(decoded.text).toContain('<rss');
    expect(decoded.text).not.toContain('\ufffd');
  });

  it('a UTF-16LE BOM made by the test', () => {
    // "<a>é</a>" in UTF-16LE after FF FE.
    const input = bytes(
      [0xff, 0xfe],
      [0x3c, 0, 0x61, 0, 0x3e, 0, 0xe9, 0, 0x3c, 0, 0x2f, 0, 0x61, 0, 0x3e, 0],
    );
    expect(decodeFeedBytes(input, { contentType: 'text/xml; charset=iso-8859-1' })).toMatchObject({
      text: '<a>é</a>',
      encoding: 'utf-16le',
      source: 'bom',
    });
  });
});

describe('gzip-compressed bytes', () => {
  it('are decompressed, then decoded as usual (node-feedparser invalid-characters-gzipped)', () => {
    const { document, decoded } = intakeFeed({
      bytes: fixture('node-feedparser__invalid-characters-gzipped.xml.gz'),
    });
    expect(decoded).toMatchObject({ compression: 'gzip', encoding: 'utf-8' });
    expect(document.title).toBe('NSHipster');
    expect(document.items.length).toBe(25);
  });

  it('compressed legacy-encoded bytes keep their declaration', () => {
    const decoded = decodeFeedBytes(gzipSync(rssWithTitle(SJIS_TITLE.bytes, 'Shift_JIS')));
    expect(decoded).toMatchObject({ compression: 'gzip', encoding: 'shift_jis' });
    expect(decoded.text).toContain(SJIS_TITLE.text);
  });

  it("a corrupt gzip stream is a malformed document, with zlib's message", () => {
    const broken = gzipSync(bytes('<rss></rss>')).subarray(0, 12);
    const error = thrownBy(() => decodeFeedBytes(broken));
    expect(error).toBeInstanceOf(FeedParseError);
    expect(error).toMatchObject({ code: 'FEED_PARSE', kind: 'malformed' });
    expect((error as FeedParseError).parserMessage).toMatch(/end of file|incorrect|invalid/i);
  });

  it('more than maxBytes once decompressed is too large (a gzip bomb stops there)', () => {
    const bomb = gzipSync(new Uint8Array(1_000_000));
    expect(bomb.length).toBeLessThan(10_000);
    expect(thrownBy(() => decodeFeedBytes(bomb, { maxBytes: 100_000 }))).toMatchObject({
      kind: 'too-large',
      message:
        'The gzip-compressed document is more than the 100000 bytes allowed once decompressed',
    });
  });

  it('more than maxBytes as received is too large', () => {
    expect(thrownBy(() => decodeFeedBytes(new Uint8Array(11), { maxBytes: 10 }))).toMatchObject({
      kind: 'too-large',
      message: 'The document is 11 bytes, more than the 10 bytes allowed',
    });
  });
});

describe('arguments', () => {
  it('refuses unknown options, and bytes that are not a Uint8Array', () => {
    expect(() => decodeFeedBytes(bytes('<a/>'), { charset: 'utf-8' } as never)).toThrow(
      /decodeFeedBytes options has an unknown option 'charset'/,
    );
    expect(() => decodeFeedBytes('<a/>' as never)).toThrow(/bytes must be a Uint8Array/);
    expect(() => decodeFeedBytes(bytes('<a/>'), { maxBytes: 0 })).toThrow(RangeError);
  });
});
