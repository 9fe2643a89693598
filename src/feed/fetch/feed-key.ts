/**
 * What a feed's fetch is keyed and limited by, in one process (`FetchController`) or
 * many (`workbus/distributed`'s feed fetchers): one module, so both name a feed and its
 * host alike, and the distributed side needs none of the controller's code.
 */
import type { FeedId } from '../feed-store.js';

/** The failure tracker's key of a feed (the pool's job key). */
export function feedKey(feedId: FeedId): string {
  return `feed:${feedId}`;
}

/** The host a feed's requests count against (politeness limits). */
export function hostOf(url: string): string {
  return new URL(url).hostname;
}
