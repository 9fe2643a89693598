import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../../../src/feed/fetch/retry-after.js';

const NOW = Date.parse('2026-11-30T12:00:00Z');

describe('parseRetryAfter', () => {
  it('reads a number of seconds from now', () => {
    fc.assert(
      fc.property(fc.nat({ max: 10 ** 7 }), (seconds) => {
        expect(parseRetryAfter(String(seconds), NOW)).toBe(NOW + seconds * 1000);
      }),
    );
  });

  it.each([
    ['Mon, 30 Nov 2026 12:05:00 GMT', Date.parse('2026-11-30T12:05:00Z')],
    ['Monday, 30-Nov-26 12:05:00 GMT', Date.parse('2026-11-30T12:05:00Z')],
    ['  Mon, 30 Nov 2026 12:05:00 GMT ', Date.parse('2026-11-30T12:05:00Z')],
  ])('reads the HTTP date %j', (value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });

  it('treats a date in the past as now', () => {
    expect(parseRetryAfter('Mon, 30 Nov 2026 11:00:00 GMT', NOW)).toBe(NOW);
  });

  it.each([null, undefined, '', '-5', '1.5', 'soon', 'Nov 2026', 'Mon, 99 Foo 2026 12:00:00 GMT'])(
    'ignores %j',
    (value) => {
      expect(parseRetryAfter(value, NOW)).toBeUndefined();
    },
  );
});
