/**
 * Bytes → text, choosing the character encoding the way XML media types ask (RFC 7303):
 * a byte order mark first, then the HTTP `Content-Type` charset, then the XML
 * declaration's `encoding`, then UTF-8. Feeds that are not UTF-8 (ISO-8859-1,
 * windows-1251, Shift_JIS, …) come out as the text their publisher wrote, instead of
 * the mojibake a plain `toString('utf8')` gives.
 */
import { TextDecoder } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { integer, options as checkOptions } from '../../validate.js';
import { FeedParseError, messageOf } from './errors.js';

/** Where the encoding used came from. */
export type EncodingSource =
  /** A byte order mark (UTF-8, UTF-16, UTF-32). */
  | 'bom'
  /** The `charset` parameter of the `Content-Type` given. */
  | 'content-type'
  /** The `encoding` of the XML declaration (`<?xml version="1.0" encoding="…"?>`). */
  | 'xml-declaration'
  /** UTF-16 recognised without a BOM from how `<?` is laid out (XML 1.0 appendix F). */
  | 'byte-pattern'
  /** Nothing declared anything, and the bytes are valid UTF-8. */
  | 'default'
  /**
   * Nothing declared anything and the bytes are not valid UTF-8: decoded as
   * windows-1252, the encoding undeclared legacy feeds are nearly always in.
   */
  | 'fallback';

/** A declared encoding that was not used, and why. */
export interface IgnoredLabel {
  readonly source: 'content-type' | 'xml-declaration';
  readonly label: string;
  readonly reason: string;
}

/** What {@link decodeFeedBytes} returns. */
export interface DecodedFeed {
  /** The document's text, without its byte order mark. */
  readonly text: string;
  /** The encoding used, by its WHATWG name (`'windows-1252'` for `iso-8859-1`, as browsers do). */
  readonly encoding: string;
  readonly source: EncodingSource;
  /** Declarations passed over (an unknown label, a UTF-16 label on single-byte text). */
  readonly ignored: readonly IgnoredLabel[];
  /** `'gzip'` when the bytes were gzip-compressed and have been decompressed. */
  readonly compression: 'gzip' | null;
}

/** Options of {@link decodeFeedBytes}. */
export interface DecodeOptions {
  /** The response's `Content-Type` header, e.g. `'application/rss+xml; charset=windows-1251'`. */
  readonly contentType?: string | undefined;
  /**
   * The largest document taken, in bytes, before and after gzip decompression (a
   * decompression bomb stops at this size).
   * @default 33554432 (32 MiB)
   */
  readonly maxBytes?: number | undefined;
}

/** @see DecodeOptions.maxBytes */
export const DEFAULT_MAX_BYTES = 32 * 1024 * 1024;

/** How far into the document the XML declaration is looked for. */
const DECLARATION_WINDOW = 1024;

/**
 * Decodes a feed document's bytes. Gzip-compressed bytes (magic `1f 8b`, as a server that
 * double-compresses or a saved `.gz` sends them) are decompressed first.
 *
 * @throws FeedParseError `'too-large'` beyond `maxBytes`, `'malformed'` for a gzip
 * stream that cannot be decompressed.
 */
export function decodeFeedBytes(bytes: Uint8Array, options: DecodeOptions = {}): DecodedFeed {
  const record = checkOptions('decodeFeedBytes options', options, ['contentType', 'maxBytes']);
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(
      `decodeFeedBytes bytes must be a Uint8Array (a Buffer is one), got ${typeof bytes}`,
    );
  }
  const contentType = record['contentType'];
  if (contentType !== undefined && typeof contentType !== 'string') {
    throw new TypeError(
      `decodeFeedBytes options.contentType must be a string, got ${typeof contentType}`,
    );
  }
  const maxBytes =
    record['maxBytes'] === undefined
      ? DEFAULT_MAX_BYTES
      : integer('decodeFeedBytes options.maxBytes', record['maxBytes'], 1);
  if (bytes.length > maxBytes) {
    throw new FeedParseError(
      'too-large',
      `The document is ${bytes.length} bytes, more than the ${maxBytes} bytes allowed`,
    );
  }
  let compression: 'gzip' | null = null;
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    bytes = gunzip(bytes, maxBytes);
    compression = 'gzip';
  }
  const ignored: IgnoredLabel[] = [];
  const decoded = (text: string, encoding: string, source: EncodingSource): DecodedFeed => ({
    text,
    encoding,
    source,
    ignored,
    compression,
  });

  const bom = byteOrderMark(bytes);
  if (bom !== undefined) {
    const body = bytes.subarray(bom.length);
    const text = bom.encoding.startsWith('utf-32')
      ? decodeUtf32(body, bom.encoding === 'utf-32be')
      : new TextDecoder(bom.encoding, { ignoreBOM: true }).decode(body);
    return decoded(text, bom.encoding, 'bom');
  }

  const pattern = utf16Pattern(bytes);
  const headerLabel = charsetOf(contentType);
  if (headerLabel !== undefined) {
    const decoder = decoderFor(headerLabel, 'content-type', ignored, pattern);
    if (decoder !== undefined) {
      return decoded(decoder.decode(bytes), decoder.encoding, 'content-type');
    }
  }

  if (pattern !== undefined) {
    return decoded(new TextDecoder(pattern).decode(bytes), pattern, 'byte-pattern');
  }

  const declared = declaredEncoding(bytes);
  if (declared !== undefined) {
    const decoder = decoderFor(declared, 'xml-declaration', ignored, pattern);
    if (decoder !== undefined) {
      return decoded(decoder.decode(bytes), decoder.encoding, 'xml-declaration');
    }
  }

  try {
    return decoded(new TextDecoder('utf-8', { fatal: true }).decode(bytes), 'utf-8', 'default');
  } catch {
    return decoded(new TextDecoder('windows-1252').decode(bytes), 'windows-1252', 'fallback');
  }
}

function gunzip(bytes: Uint8Array, maxBytes: number): Uint8Array {
  try {
    return gunzipSync(bytes, { maxOutputLength: maxBytes });
  } catch (error) {
    if (error instanceof RangeError) {
      throw new FeedParseError(
        'too-large',
        `The gzip-compressed document is more than the ${maxBytes} bytes allowed once decompressed`,
        { cause: error, parserMessage: error.message },
      );
    }
    throw new FeedParseError(
      'malformed',
      'The document starts as gzip-compressed bytes (1f 8b) but does not decompress',
      { cause: error, parserMessage: messageOf(error) },
    );
  }
}

interface Bom {
  readonly encoding: 'utf-8' | 'utf-16le' | 'utf-16be' | 'utf-32le' | 'utf-32be';
  readonly length: number;
}

function byteOrderMark(b: Uint8Array): Bom | undefined {
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return { encoding: 'utf-8', length: 3 };
  if (b[0] === 0x00 && b[1] === 0x00 && b[2] === 0xfe && b[3] === 0xff) {
    return { encoding: 'utf-32be', length: 4 };
  }
  if (b[0] === 0xff && b[1] === 0xfe && b[2] === 0x00 && b[3] === 0x00) {
    return { encoding: 'utf-32le', length: 4 };
  }
  if (b[0] === 0xfe && b[1] === 0xff) return { encoding: 'utf-16be', length: 2 };
  if (b[0] === 0xff && b[1] === 0xfe) return { encoding: 'utf-16le', length: 2 };
  return undefined;
}

/** `<?` in UTF-16 without a BOM: the only case where a declaration cannot be read as ASCII. */
function utf16Pattern(b: Uint8Array): 'utf-16le' | 'utf-16be' | undefined {
  if (b[0] === 0x3c && b[1] === 0x00 && b[2] === 0x3f && b[3] === 0x00) return 'utf-16le';
  if (b[0] === 0x00 && b[1] === 0x3c && b[2] === 0x00 && b[3] === 0x3f) return 'utf-16be';
  return undefined;
}

/**
 * The `charset` parameter of a Content-Type, tolerating spaces around `=` and quotes
 * (`text/xml;charset = us-ascii` is seen in the wild).
 */
function charsetOf(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const match = /;\s*charset\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s;]+))/i.exec(contentType);
  const label = (match?.[1] ?? match?.[2] ?? match?.[3])?.trim();
  return label === undefined || label === '' ? undefined : label;
}

/** The `encoding` of an XML declaration at the start (leading whitespace allowed). */
function declaredEncoding(bytes: Uint8Array): string | undefined {
  // Latin-1 maps each byte to one character, so an ASCII declaration reads as itself
  // whatever encoding follows it.
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, DECLARATION_WINDOW));
  const match = /^\s*<\?xml\s[^>]*?\bencoding\s*=\s*["']\s*([^"'\s]+)\s*["']/.exec(head);
  return match?.[1];
}

/**
 * A decoder for a declared label, or undefined (the next source in the order decides)
 * with the reason written into `ignored`.
 */
function decoderFor(
  label: string,
  source: IgnoredLabel['source'],
  ignored: IgnoredLabel[],
  pattern: 'utf-16le' | 'utf-16be' | undefined,
): TextDecoder | undefined {
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(label);
  } catch {
    ignored.push({ source, label, reason: 'not an encoding this runtime knows' });
    return undefined;
  }
  if (decoder.encoding.startsWith('utf-16')) {
    // Without a BOM, only UTF-16's byte pattern says which byte order; without that
    // either, the bytes are single-byte or UTF-8 text whatever the label says (an XML
    // declaration that could be read as ASCII was not written in UTF-16).
    if (pattern !== undefined) return new TextDecoder(pattern);
    ignored.push({ source, label, reason: 'a UTF-16 label on bytes that are not UTF-16' });
    return undefined;
  }
  if (pattern !== undefined) {
    ignored.push({ source, label, reason: 'a single-byte label on bytes laid out as UTF-16' });
    return undefined;
  }
  return decoder;
}

/** UTF-32, which `TextDecoder` does not support; an invalid code point becomes U+FFFD. */
function decodeUtf32(bytes: Uint8Array, bigEndian: boolean): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parts: string[] = [];
  const whole = bytes.length - (bytes.length % 4);
  for (let at = 0; at < whole; at += 4) {
    const point = view.getUint32(at, !bigEndian);
    const valid = point <= 0x10ffff && !(point >= 0xd800 && point <= 0xdfff);
    parts.push(String.fromCodePoint(valid ? point : 0xfffd));
  }
  if (whole < bytes.length) parts.push('\ufffd');
  return parts.join('');
}
