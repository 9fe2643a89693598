/** Shared by the intake tests: byte building and the shared feed fixtures. */
import { readFileSync } from 'node:fs';
import type { ParsedItem } from '../../../src/feed/intake/index.js';

/** The shared feed fixtures (outside the repository, beside it). */
export const FIXTURES = new URL('../../../../shared/fixtures/feeds/', import.meta.url);

export function fixture(name: string): Uint8Array {
  return readFileSync(new URL(name, FIXTURES));
}

/**
 * Bytes from parts: a string must be ASCII (its bytes are the same in every encoding
 * tested), a number array is raw bytes. No TextEncoder: the tests must not lean on the
 * decoder's own tables to make what the decoder reads.
 */
export function bytes(...parts: readonly (string | readonly number[])[]): Uint8Array {
  const out: number[] = [];
  for (const part of parts) {
    if (typeof part === 'string') {
      for (const char of part) {
        const code = char.charCodeAt(0);
        if (code > 0x7f) throw new Error(`not ASCII: ${JSON.stringify(char)}`);
        out.push(code);
      }
    } else {
      out.push(...part);
    }
  }
  return Uint8Array.from(out);
}

/** An RSS 2.0 document around `title` bytes, with an optional XML declaration encoding. */
export function rssWithTitle(title: readonly number[], declared?: string): Uint8Array {
  const declaration =
    declared === undefined ? '' : `<?xml version="1.0" encoding="${declared}"?>\n`;
  return bytes(
    `${declaration}<rss version="2.0"><channel><title>feed</title><item><guid>1</guid><title>`,
    title,
    '</title></item></channel></rss>',
  );
}

/** "Café crème à Noël" in ISO-8859-1. */
export const LATIN1_TITLE = {
  text: 'Café crème à Noël',
  bytes: [
    0x43, 0x61, 0x66, 0xe9, 0x20, 0x63, 0x72, 0xe8, 0x6d, 0x65, 0x20, 0xe0, 0x20, 0x4e, 0x6f, 0xeb,
    0x6c,
  ],
} as const;

/** "Привет, мир" in windows-1251. */
export const CP1251_TITLE = {
  text: 'Привет, мир',
  bytes: [0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2, 0x2c, 0x20, 0xec, 0xe8, 0xf0],
} as const;

/** "日本語のニュース" in Shift_JIS. */
export const SJIS_TITLE = {
  text: '日本語のニュース',
  bytes: [
    0x93, 0xfa, 0x96, 0x7b, 0x8c, 0xea, 0x82, 0xcc, 0x83, 0x6a, 0x83, 0x85, 0x81, 0x5b, 0x83, 0x58,
  ],
} as const;

/** A parsed item: every field empty but those given. */
export function parsedItem(fields: Partial<ParsedItem>): ParsedItem {
  return {
    id: null,
    url: null,
    title: null,
    description: null,
    content: null,
    authors: [],
    published: null,
    updated: null,
    ...fields,
  };
}
