/**
 * The filter stage: after normalising, each filter gets the items and returns those to
 * keep. A filter takes `{ signal }` and checks it inside its loop, not only between
 * filters, so one slow filter over a large feed stops soon after an abort.
 */
import { throwIfAborted } from '../../abort.js';
import { callable, duration, options as checkOptions, requiredSignal } from '../../validate.js';
import type { NormalizedItem } from './normalize.js';

/** What a filter receives besides the items. */
export interface FilterContext {
  /** Aborts when the intake is cancelled: check it inside every loop over the items. */
  readonly signal: AbortSignal;
}

/**
 * One filter: the items to keep, in order (synchronously or as a promise). It must not
 * change the items it is given.
 */
export type FilterStage = (
  items: readonly NormalizedItem[],
  context: FilterContext,
) => readonly NormalizedItem[] | Promise<readonly NormalizedItem[]>;

/**
 * Runs `filters` in order, each on what the one before kept. The signal is checked before
 * each filter and after it returns (a filter that ignores an abort cannot hand its result
 * on); built-in filters also check it per item.
 *
 * @throws an abort error when `signal` aborts; TypeError when a filter is not a function
 * or returns something other than an array; whatever a filter throws.
 */
export async function runFilters(
  items: readonly NormalizedItem[],
  filters: readonly FilterStage[],
  options: { readonly signal: AbortSignal },
): Promise<readonly NormalizedItem[]> {
  const signal = requiredSignal(
    'runFilters options.signal',
    checkOptions('runFilters options', options, ['signal'])['signal'],
  );
  if (!isList(filters)) {
    throw new TypeError('runFilters filters must be an array of functions');
  }
  filters.forEach((filter, index) => callable(`runFilters filters[${index}]`, filter));
  let kept = items;
  for (const [index, filter] of filters.entries()) {
    throwIfAborted(signal);
    const result = await filter(kept, { signal });
    throwIfAborted(signal);
    if (!isList(result)) {
      throw new TypeError(
        `filter ${index} (${filter.name || 'anonymous'}) must return an array of items, got ${typeof result}`,
      );
    }
    kept = result;
  }
  return kept;
}

/** The item fields a {@link keywordFilter} looks in. */
export type KeywordField = 'title' | 'summary' | 'content' | 'author';

/** Options of {@link keywordFilter}. */
export interface KeywordFilterOptions {
  /** Keep only items containing at least one of these (none given: keep all). */
  readonly include?: readonly string[] | undefined;
  /** Drop items containing any of these; exclusion wins over inclusion. */
  readonly exclude?: readonly string[] | undefined;
  /**
   * Where to look.
   * @default ['title', 'summary']
   */
  readonly fields?: readonly KeywordField[] | undefined;
}

const KEYWORD_FIELDS: readonly KeywordField[] = ['title', 'summary', 'content', 'author'];

/**
 * Keeps or drops items by keywords, matched case-insensitively as substrings of the
 * chosen fields (`keywordFilter({ include: ['typescript'], exclude: ['sponsored'] })`).
 *
 * @throws TypeError for unknown options, keywords that are not non-empty strings, or an
 * unknown field.
 */
export function keywordFilter(options: KeywordFilterOptions): FilterStage {
  const record = checkOptions('keywordFilter options', options, ['include', 'exclude', 'fields']);
  const include = keywords('keywordFilter options.include', record['include']);
  const exclude = keywords('keywordFilter options.exclude', record['exclude']);
  const fields = fieldList('keywordFilter options.fields', record['fields']);
  return function keywordFilter(items, { signal }) {
    const kept: NormalizedItem[] = [];
    for (const item of items) {
      throwIfAborted(signal);
      const text = fields
        .map((field) => item[field] ?? '')
        .join('\n')
        .toLowerCase();
      if (exclude.some((word) => text.includes(word))) continue;
      if (include.length > 0 && !include.some((word) => text.includes(word))) continue;
      kept.push(item);
    }
    return kept;
  };
}

/** Options of {@link patternFilter}. */
export interface PatternFilterOptions {
  /** Drop items one of these matches (in any of `fields`). */
  readonly exclude: readonly RegExp[];
  /**
   * Where to look; each field is matched on its own.
   * @default ['title', 'summary']
   */
  readonly fields?: readonly KeywordField[] | undefined;
}

/**
 * Drops items a regular expression matches, in the chosen fields
 * (`patternFilter({ exclude: [/\bsponsored\b/i] })`); the CLI's `--exclude`. A pattern's
 * `g` and `y` flags are ignored: they would make a match depend on the one before.
 *
 * @throws TypeError for unknown options, an `exclude` that is not an array of RegExps, or
 * an unknown field.
 */
export function patternFilter(options: PatternFilterOptions): FilterStage {
  const record = checkOptions('patternFilter options', options, ['exclude', 'fields']);
  const given = record['exclude'];
  if (!Array.isArray(given) || !given.every((pattern: unknown) => pattern instanceof RegExp)) {
    throw new TypeError('patternFilter options.exclude must be an array of RegExps');
  }
  const exclude = given.map(
    (pattern) => new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')),
  );
  const fields = fieldList('patternFilter options.fields', record['fields']);
  return function patternFilter(items, { signal }) {
    const kept: NormalizedItem[] = [];
    for (const item of items) {
      throwIfAborted(signal);
      const texts = fields.map((field) => item[field] ?? '');
      if (!exclude.some((pattern) => texts.some((text) => pattern.test(text)))) kept.push(item);
    }
    return kept;
  };
}

/** Options of {@link maxAgeFilter}. */
export interface MaxAgeFilterOptions {
  /** Items published longer ago than this (milliseconds) are dropped. */
  readonly maxAgeMs: number;
  /**
   * Keep items without a date (a feed that dates nothing would otherwise lose everything).
   * @default true
   */
  readonly keepUndated?: boolean | undefined;
  /**
   * The clock, read once per run.
   * @default Date.now
   */
  readonly now?: (() => number) | undefined;
}

/**
 * Drops items older than `maxAgeMs` by `publishedAt`.
 * @throws TypeError/RangeError for unknown options or a `maxAgeMs` that is not a duration.
 */
export function maxAgeFilter(options: MaxAgeFilterOptions): FilterStage {
  const record = checkOptions('maxAgeFilter options', options, ['maxAgeMs', 'keepUndated', 'now']);
  const maxAgeMs = duration('maxAgeFilter options.maxAgeMs', record['maxAgeMs']);
  const keepUndated = record['keepUndated'] ?? true;
  if (typeof keepUndated !== 'boolean') {
    throw new TypeError(
      `maxAgeFilter options.keepUndated must be a boolean, got ${typeof keepUndated}`,
    );
  }
  const now = callable('maxAgeFilter options.now', (record['now'] ?? Date.now) as () => number);
  return function maxAgeFilter(items, { signal }) {
    const oldest = now() - maxAgeMs;
    const kept: NormalizedItem[] = [];
    for (const item of items) {
      throwIfAborted(signal);
      const at = item.publishedAt;
      if (at === null ? keepUndated : at >= oldest) kept.push(item);
    }
    return kept;
  };
}

function keywords(field: string, value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value))
    throw new TypeError(`${field} must be an array of strings, got ${typeof value}`);
  return value.map((word: unknown, index) => {
    if (typeof word !== 'string' || word.trim() === '') {
      throw new TypeError(
        `${field}[${index}] must be a non-empty string, got ${JSON.stringify(word) ?? typeof word}`,
      );
    }
    return word.toLowerCase();
  });
}

function fieldList(field: string, value: unknown): readonly KeywordField[] {
  if (value === undefined) return ['title', 'summary'];
  if (!Array.isArray(value) || value.length === 0) {
    throw new TypeError(`${field} must be a non-empty array of ${KEYWORD_FIELDS.join(', ')}`);
  }
  return value.map((name: unknown, index) => {
    if (!KEYWORD_FIELDS.includes(name as KeywordField)) {
      throw new TypeError(
        `${field}[${index}] must be one of ${KEYWORD_FIELDS.join(', ')}, got ${JSON.stringify(name) ?? typeof name}`,
      );
    }
    return name as KeywordField;
  });
}

/** `Array.isArray` without narrowing: values from callers the compiler cannot see. */
function isList(value: unknown): boolean {
  return Array.isArray(value);
}
