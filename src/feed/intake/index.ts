/** The feed intake's pure stages: decode, parse, normalise, filter; and its worker module. */
export {
  decodeFeedBytes,
  DEFAULT_MAX_BYTES,
  type DecodedFeed,
  type DecodeOptions,
  type EncodingSource,
  type IgnoredLabel,
} from './decode.js';
export { FeedParseError, type FeedFailure, type FeedFailureKind } from './errors.js';
export {
  keywordFilter,
  maxAgeFilter,
  patternFilter,
  runFilters,
  type FilterContext,
  type FilterStage,
  type KeywordField,
  type KeywordFilterOptions,
  type MaxAgeFilterOptions,
  type PatternFilterOptions,
} from './filter.js';
export {
  intakeFeed,
  intakeOutcome,
  intakeResultOf,
  type DecodeReport,
  type IntakeInput,
  type IntakeOutcome,
  type IntakeResult,
} from './intake.js';
export {
  DEFAULT_SUMMARY_LENGTH,
  normalizeFeed,
  type FeedDocument,
  type KeySource,
  type NormalizedItem,
  type NormalizeOptions,
} from './normalize.js';
export { parseFeedText, type ParseOptions } from './parse.js';
export type { FeedFormat, ParsedFeed, ParsedItem } from './parsed.js';
export { advertisedFeeds, sniffFormat, type SniffedFormat } from './sniff.js';
export { normalizeLink } from './url.js';
export { intakeWorker } from './worker-module.js';
