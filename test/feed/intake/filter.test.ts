/**
 * The filter stage: filters run in order, each sees the signal; the built-in filters check
 * it inside their loops, so an abort mid-loop stops the loop there.
 */
import { describe, expect, it } from 'vitest';
import { isAbortError } from '../../../src/abort.js';
import {
  keywordFilter,
  maxAgeFilter,
  normalizeFeed,
  patternFilter,
  runFilters,
  type FilterStage,
  type NormalizedItem,
} from '../../../src/feed/intake/index.js';
import { parsedItem } from './helpers.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2024, 5, 1);

const items: readonly NormalizedItem[] = normalizeFeed({
  format: 'rss',
  version: '2.0',
  title: 'F',
  siteUrl: null,
  selfUrl: null,
  items: [
    parsedItem({ id: '1', title: 'TypeScript 5.5 released', published: NOW - DAY }),
    parsedItem({
      id: '2',
      title: 'Rust news',
      description: 'Sponsored: typescript tooling',
      published: NOW - 3 * DAY,
    }),
    parsedItem({
      id: '3',
      title: 'Gardening',
      description: 'Tomatoes',
      content: '<p>TypeScript in the garden</p>',
      published: NOW - 10 * DAY,
    }),
    parsedItem({ id: '4', title: 'Undated typescript note' }),
  ],
}).items;

const ids = (list: readonly NormalizedItem[]) => list.map((item) => item.key);
const signal = new AbortController().signal;

describe('keywordFilter', () => {
  it('keeps items containing an included keyword, case-insensitively, in title and summary by default', async () => {
    const kept = await runFilters(items, [keywordFilter({ include: ['TYPESCRIPT'] })], { signal });
    expect(ids(kept)).toEqual(['1', '2', '4']);
  });

  it('exclusion wins over inclusion; fields choose where to look', async () => {
    const filter = keywordFilter({
      include: ['typescript'],
      exclude: ['sponsored'],
      fields: ['title', 'summary', 'content'],
    });
    expect(ids(await runFilters(items, [filter], { signal }))).toEqual(['1', '3', '4']);
  });

  it('refuses unknown options, empty keywords and unknown fields', () => {
    expect(() => keywordFilter({ includes: ['x'] } as never)).toThrow(
      /unknown option 'includes'; did you mean 'include'\?/,
    );
    expect(() => keywordFilter({ include: [''] })).toThrow(
      /include\[0\] must be a non-empty string/,
    );
    expect(() => keywordFilter({ fields: ['body' as never] })).toThrow(
      /fields\[0\] must be one of title, summary, content, author, got "body"/,
    );
  });
});

describe('patternFilter', () => {
  it('drops items a pattern matches in their title or summary by default, each field on its own', async () => {
    const filter = patternFilter({ exclude: [/^rust\b/i, /Tomatoes$/] });
    expect(ids(await runFilters(items, [filter], { signal }))).toEqual(['1', '4']);
    // Not across fields: "news" ends the title, "Sponsored" starts the summary.
    const across = patternFilter({ exclude: [/news\nsponsored/i] });
    expect(ids(await runFilters(items, [across], { signal }))).toEqual(['1', '2', '3', '4']);
  });

  it('matches every item alike, whatever the flags (g and y would carry state from one to the next)', async () => {
    const filter = patternFilter({ exclude: [/typescript/giy], fields: ['title'] });
    expect(ids(await runFilters(items, [filter, filter], { signal }))).toEqual(['2', '3']);
  });

  it('refuses unknown options, patterns that are not RegExps and unknown fields', () => {
    expect(() => patternFilter({ exclude: [/x/], field: ['title'] } as never)).toThrow(
      /unknown option 'field'/,
    );
    expect(() => patternFilter({ exclude: ['x'] } as never)).toThrow(
      /exclude must be an array of RegExps/,
    );
    expect(() => patternFilter({ exclude: [/x/], fields: ['body' as never] })).toThrow(
      /patternFilter options\.fields\[0\] must be one of title, summary, content, author/,
    );
  });
});

describe('maxAgeFilter', () => {
  it('drops items older than maxAgeMs, keeping undated items by default', async () => {
    const filter = maxAgeFilter({ maxAgeMs: 5 * DAY, now: () => NOW });
    expect(ids(await runFilters(items, [filter], { signal }))).toEqual(['1', '2', '4']);
  });

  it('keepUndated: false drops undated items too', async () => {
    const filter = maxAgeFilter({ maxAgeMs: 5 * DAY, keepUndated: false, now: () => NOW });
    expect(ids(await runFilters(items, [filter], { signal }))).toEqual(['1', '2']);
  });

  it('refuses a maxAgeMs that is not a duration', () => {
    expect(() => maxAgeFilter({ maxAgeMs: -1 })).toThrow(RangeError);
    expect(() => maxAgeFilter({ maxAgeMs: 1, keepUndated: 'yes' } as never)).toThrow(
      /keepUndated must be a boolean/,
    );
  });
});

describe('runFilters', () => {
  it('runs filters in order, each on what the one before kept, sync or async', async () => {
    const seen: string[][] = [];
    const record =
      (drop: string): FilterStage =>
      (list) => {
        seen.push(ids(list));
        return Promise.resolve(list.filter((item) => item.key !== drop));
      };
    const kept = await runFilters(items, [record('1'), (list) => list.slice(0, 2), record('2')], {
      signal,
    });
    expect(seen).toEqual([
      ['1', '2', '3', '4'],
      ['2', '3'],
    ]);
    expect(ids(kept)).toEqual(['3']);
  });

  it('an already aborted signal runs no filter', async () => {
    const controller = new AbortController();
    controller.abort();
    let ran = false;
    const filter: FilterStage = (list) => {
      ran = true;
      return list;
    };
    await expect(runFilters(items, [filter], { signal: controller.signal })).rejects.toSatisfy(
      isAbortError,
    );
    expect(ran).toBe(false);
  });

  it('a filter that ignores an abort cannot hand its result on', async () => {
    const controller = new AbortController();
    const ignoring: FilterStage = (list) => {
      controller.abort();
      return list;
    };
    let next = false;
    const after: FilterStage = (list) => {
      next = true;
      return list;
    };
    await expect(
      runFilters(items, [ignoring, after], { signal: controller.signal }),
    ).rejects.toSatisfy(isAbortError);
    expect(next).toBe(false);
  });

  it('refuses a missing signal, a filter that is not a function, and a result that is not an array', async () => {
    await expect(runFilters(items, [], {} as never)).rejects.toThrow(
      /signal must be an AbortSignal/,
    );
    await expect(runFilters(items, ['x' as never], { signal })).rejects.toThrow(
      /filters\[0\] must be a function/,
    );
    const broken: FilterStage = () => 'no' as never;
    await expect(runFilters(items, [broken], { signal })).rejects.toThrow(
      /filter 0 \(broken\) must return an array of items, got string/,
    );
  });
});

describe('a filter that runs long sees its signal inside its loop', () => {
  /**
   * Items whose field, when a filter reads it, records the item's index; reading item
   * `abortAt` aborts the signal. What was read afterwards shows where the loop stopped.
   */
  function watchedItems(
    field: 'title' | 'publishedAt',
    abortAt: number,
    controller: AbortController,
  ) {
    const read: number[] = [];
    const watched = Array.from({ length: 1000 }, (_, index) => {
      const item = { ...items[0]!, key: String(index) };
      Object.defineProperty(item, field, {
        get() {
          read.push(index);
          if (index === abortAt) controller.abort(new Error('user left'));
          return field === 'title' ? 'typescript' : NOW;
        },
      });
      return item;
    });
    return { watched, read };
  }

  it.each([
    ['keywordFilter', 'title', keywordFilter({ include: ['typescript'], fields: ['title'] })],
    ['maxAgeFilter', 'publishedAt', maxAgeFilter({ maxAgeMs: DAY, now: () => NOW })],
    ['patternFilter', 'title', patternFilter({ exclude: [/rust/], fields: ['title'] })],
  ] as const)('%s stops at the next item after an abort mid-loop', async (_name, field, filter) => {
    const controller = new AbortController();
    const { watched, read } = watchedItems(field, 3, controller);
    const error: unknown = await runFilters(watched, [filter], { signal: controller.signal }).catch(
      (e: unknown) => e,
    );
    expect(error).toSatisfy(isAbortError);
    expect((error as Error).cause).toEqual(new Error('user left'));
    // Items 0-3 were read; item 4 never was, of 1000.
    expect(read).toEqual([0, 1, 2, 3]);
  });
});
