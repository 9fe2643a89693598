/**
 * 64-bit SimHash (Charikar) over word shingles, and the Hamming distance between two.
 *
 * Similar texts get fingerprints that differ in few bits: each shingle votes +1/−1 on
 * every bit through its own hash, and the fingerprint keeps the sign of each bit's
 * total, so changing a few shingles of many moves few totals across zero.
 *
 * A fingerprint is held as two unsigned 32-bit halves (`hi`, `lo`): JavaScript's
 * bitwise operators work on 32 bits, and a bigint per shingle vote costs an allocation
 * (measured in docs/architecture.md). The public form is a bigint, made once per text.
 */

/** Words shingled together: one changed word touches at most this many shingles. */
const SHINGLE = 2;
const WORD = /[\p{L}\p{N}]+/gu;
const ASCII_WORD = /[a-z\d]+/g;
const ASCII = /^[ -~\t\n\r]*$/;
const TAG = /<[^>]*>/g;
const ENTITY = /&(?:#\d+|#x[\da-f]+|[a-z]+);/gi;

/** A fingerprint as two unsigned 32-bit halves. @internal */
export interface Halves {
  readonly hi: number;
  readonly lo: number;
  /** Words the text had after normalising (a short text gives a fingerprint to distrust). */
  readonly words: number;
}

/**
 * @internal
 * The words of `text` as compared: markup and entities dropped (summaries are often
 * HTML), Unicode compatibility forms folded (NFKC), lower case, letters and digits only.
 */
export function normalizedWords(text: string): string[] {
  let plain = text;
  // The guards skip passes that cannot change the text: most titles have no markup.
  if (plain.includes('<')) plain = plain.replace(TAG, ' ');
  if (plain.includes('&')) plain = plain.replace(ENTITY, ' ');
  if (!ASCII.test(plain)) plain = plain.normalize('NFKC');
  return plain.toLowerCase().match(ASCII.test(plain) ? ASCII_WORD : WORD) ?? [];
}

/** FNV-1a over UTF-16 code units, then finalised: a 32-bit hash per word. */
function wordHash(word: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < word.length; i++) {
    h = Math.imul(h ^ word.charCodeAt(i), 0x01000193);
  }
  return fmix(h);
}

/** murmur3's finaliser: every input bit flips each output bit with probability ~1/2. */
function fmix(x: number): number {
  let h = x;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const votes = new Int32Array(64);

function vote(hash: number, offset: number): void {
  for (let bit = 0; bit < 32; bit++) {
    votes[offset + bit] = (votes[offset + bit] as number) + ((hash >>> bit) & 1) * 2 - 1;
  }
}

/**
 * The fingerprint of `text` as two 32-bit halves. Empty text (no words) gives 0.
 * @internal Fast form of {@link simhash}.
 */
export function simhashHalves(text: string): Halves {
  const words = normalizedWords(text);
  votes.fill(0);
  const hashes = words.map(wordHash);
  const shingles = Math.max(hashes.length - SHINGLE + 1, hashes.length === 0 ? 0 : 1);
  for (let s = 0; s < shingles; s++) {
    let h = 0x9e3779b9;
    for (let k = s; k < Math.min(s + SHINGLE, hashes.length); k++) {
      h = fmix(Math.imul(h ^ (hashes[k] as number), 0x27d4eb2f));
    }
    // Two finalisations with different salts: independent hashes for the two halves.
    vote(fmix(h ^ 0x5bd1e995), 0);
    vote(fmix(h ^ 0x1b873593), 32);
  }
  let lo = 0;
  let hi = 0;
  if (shingles > 0) {
    for (let bit = 0; bit < 32; bit++) {
      if ((votes[bit] as number) > 0) lo |= 1 << bit;
      if ((votes[32 + bit] as number) > 0) hi |= 1 << bit;
    }
  }
  return { hi: hi >>> 0, lo: lo >>> 0, words: words.length };
}

/**
 * The 64-bit SimHash of `text`'s word shingles (pairs of words; a one-word text is
 * one shingle). Texts that differ by a few words get fingerprints a few bits apart;
 * unrelated texts differ in about 32 bits. Deterministic across processes and versions
 * of Node (it depends on the text only).
 * @throws TypeError if `text` is not a string.
 */
export function simhash(text: string): bigint {
  if (typeof text !== 'string') throw new TypeError(`text must be a string, got ${typeof text}`);
  const { hi, lo } = simhashHalves(text);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** Set bits of a 32-bit integer (SWAR popcount). @internal */
export function popcount32(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/** Bits in which two fingerprints' halves differ. @internal Fast form of {@link hammingDistance}. */
export function halvesDistance(a: Halves, b: Halves): number {
  return popcount32((a.hi ^ b.hi) >>> 0) + popcount32((a.lo ^ b.lo) >>> 0);
}

const MASK64 = (1n << 64n) - 1n;

/**
 * Number of bits in which two 64-bit fingerprints differ (0 to 64).
 * @throws RangeError if either is not a bigint in [0, 2^64).
 */
export function hammingDistance(a: bigint, b: bigint): number {
  for (const [field, value] of [
    ['a', a],
    ['b', b],
  ] as const) {
    if (typeof value !== 'bigint' || value < 0n || value > MASK64) {
      throw new RangeError(`${field} must be a 64-bit unsigned bigint, got ${String(value)}`);
    }
  }
  const x = a ^ b;
  return popcount32(Number(x & 0xffffffffn)) + popcount32(Number(x >> 32n));
}
