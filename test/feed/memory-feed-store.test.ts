import { describe, expect, it } from 'vitest';
import { MemoryFeedStore } from '../../src/feed/memory-feed-store.js';
import { feedStoreContract } from './contract.js';

feedStoreContract('MemoryFeedStore', (now) => Promise.resolve(new MemoryFeedStore({ now })));

describe('MemoryFeedStore options', () => {
  it('refuses unknown options and a clock that is not a function', () => {
    expect(() => new MemoryFeedStore({ clock: Date.now } as never)).toThrow(
      /unknown option 'clock'/,
    );
    expect(() => new MemoryFeedStore({ now: 5 } as never)).toThrow(/now must be a function/);
  });
});
