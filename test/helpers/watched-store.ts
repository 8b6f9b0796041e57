/** An object store that remembers what was streamed from it, for tests that assert bytes read. */
import type { Readable } from 'node:stream';
import type { ObjectStore } from '../../src/storage/object-store.ts';

/** The store as the cache sees it, remembering every object streamed and its bytes. */
export function watchedStore(inner: ObjectStore): { store: ObjectStore; streamed: Map<string, number> } {
  const streamed = new Map<string, number>();
  const store = new Proxy(inner, {
    get(target, property) {
      // Methods run on the store itself: its private fields are not the proxy's.
      const value = Reflect.get(target, property) as unknown;
      if (property !== 'stream') return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      return async (...args: Parameters<ObjectStore['stream']>): Promise<Readable> => {
        const body = await target.stream(...args);
        body.on('data', (chunk: Buffer) => streamed.set(args[1], (streamed.get(args[1]) ?? 0) + chunk.length));
        return body;
      };
    },
  });
  return { store, streamed };
}
