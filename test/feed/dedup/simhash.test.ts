import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  hammingDistance,
  normalizedWords,
  popcount32,
  simhash,
} from '../../../src/feed/dedup/simhash.js';

/** SimHash is probabilistic: the bounds below hold for these seeds, so the runs are fixed. */
const SEED = 20261130;

const word = fc.stringMatching(/^[a-z]{2,9}$/);
const text = (min: number, max: number): fc.Arbitrary<string[]> =>
  fc.array(word, { minLength: min, maxLength: max });

describe('simhash', () => {
  it('gives identical texts distance 0, and ignores case, markup and spacing', () => {
    fc.assert(
      fc.property(text(0, 60), (words) => {
        const plain = words.join(' ');
        expect(hammingDistance(simhash(plain), simhash(plain))).toBe(0);
        const dressed = `<p>${words.map((w) => w.toUpperCase()).join(' \n ')}</p>&amp;`;
        expect(simhash(dressed)).toBe(simhash(plain));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('moves a fingerprint a few bits for a one-word edit of a 40 to 80 word text', () => {
    const distances: number[] = [];
    fc.assert(
      fc.property(text(40, 80), fc.nat(), word, (words, at, replacement) => {
        const edited = [...words];
        edited[at % words.length] = `${replacement}q`;
        const d = hammingDistance(simhash(words.join(' ')), simhash(edited.join(' ')));
        distances.push(d);
        expect(d).toBeLessThanOrEqual(20);
      }),
      { seed: SEED, numRuns: 500 },
    );
    expect(mean(distances)).toBeLessThan(8);
  });

  it('keeps unrelated texts of 10 or more words far apart (about 32 bits)', () => {
    const distances: number[] = [];
    fc.assert(
      fc.property(text(10, 80), text(10, 80), (a, b) => {
        fc.pre(new Set(a).size > 1 && a.some((w) => !b.includes(w)));
        const d = hammingDistance(simhash(a.join(' ')), simhash(b.join(' ')));
        distances.push(d);
        expect(d).toBeGreaterThan(3);
      }),
      { seed: SEED, numRuns: 500 },
    );
    expect(mean(distances)).toBeGreaterThan(26);
    expect(mean(distances)).toBeLessThan(38);
  });

  it('depends on the text only (fixed values, stable across versions)', () => {
    expect(simhash('')).toBe(0n);
    expect(simhash('Hello, world!')).toBe(simhash('hello world'));
    expect(simhash('Café')).toBe(simhash('café'));
    expect(simhash('ﬁle')).toBe(simhash('file')); // NFKC folds the ligature
    expect(simhash('the quick brown fox')).not.toBe(simhash('the brown quick fox'));
  });

  it('normalises words: markup, entities, case, punctuation, any script', () => {
    expect(normalizedWords('<b>Größe</b> &nbsp;of 2 Äpfel—ok?')).toEqual([
      'größe',
      'of',
      '2',
      'äpfel',
      'ok',
    ]);
    expect(normalizedWords('日本語 テキスト')).toEqual(['日本語', 'テキスト']);
  });
});

describe('hammingDistance', () => {
  it('counts differing bits', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        (a, b) => {
          const expected = [...(a ^ b).toString(2)].filter((c) => c === '1').length;
          expect(hammingDistance(a, b)).toBe(expected);
          expect(hammingDistance(b, a)).toBe(expected);
        },
      ),
    );
    expect(hammingDistance(0n, 2n ** 64n - 1n)).toBe(64);
  });

  it('refuses values that are not 64-bit unsigned bigints, naming them', () => {
    expect(() => hammingDistance(-1n, 0n)).toThrow(/a must be a 64-bit unsigned bigint, got -1/);
    expect(() => hammingDistance(0n, 2n ** 64n)).toThrow(/b must be/);
    expect(() => hammingDistance(0n, 3 as unknown as bigint)).toThrow(RangeError);
    expect(() => simhash(3 as unknown as string)).toThrow(/text must be a string, got number/);
  });

  it('popcount32 counts the bits of any 32-bit value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (x) => {
        expect(popcount32(x)).toBe([...x.toString(2)].filter((c) => c === '1').length);
      }),
    );
  });
});

function mean(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}
