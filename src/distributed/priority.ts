import { integer } from '../validate.js';

/**
 * workbus priorities (higher first, 0 by default) as BullMQ's (lower first, 1 to 2^21).
 *
 * BullMQ runs a job added without a priority before every prioritised one, so every
 * job gets an explicit BullMQ priority, the default 0 included: then one order — higher
 * workbus priority first, submission order within a level (BullMQ's per-priority
 * counter) — holds for every job of a type.
 */
export const PRIORITY_RANGE = 1_000_000;

/**
 * @returns BullMQ's priority for workbus priority `priority`.
 * @throws RangeError for a priority that is not an integer in ±{@link PRIORITY_RANGE}
 * (BullMQ's priorities are integers up to 2^21).
 * @internal
 */
export function bullPriority(field: string, priority: unknown): number {
  return PRIORITY_RANGE + 1 - integer(field, priority, -PRIORITY_RANGE, PRIORITY_RANGE);
}
