/**
 * Keeps the derived bucket's catalog snapshot close to the catalog: at start and then every
 * interval, when commits landed since the last one it wrote, the admin process writes the
 * recordings it holds and the feed position they are current at. A query service that starts
 * cold then reads that one object and the commits noted since, not every manifest.
 */
import { currentListing, isFromSnapshot } from '../catalog/catalog.ts';
import { snapshotOf, writeCatalogSnapshot } from '../catalog/catalog-snapshot-store.ts';
import { committedRecordings, computedOf, type CatalogLocation } from '../catalog/query-session.ts';
import type { Logger } from '../log.ts';

export interface CatalogSnapshotter {
  /** Stops the timer; resolves when a write under way is done. */
  stop(): Promise<void>;
}

export function startCatalogSnapshotter(location: CatalogLocation, intervalMs: number, log: Logger): CatalogSnapshotter {
  const feed = location.changes;
  if (feed === undefined || intervalMs === 0) return { stop: async () => {} };
  let written = '';
  let running: Promise<void> = Promise.resolve();
  const pass = async (): Promise<void> => {
    await committedRecordings(location);
    const listing = currentListing(feed, location.derivedBucket);
    // No position (the feed could not be read): a snapshot would not say where to resume.
    if (listing === undefined) return;
    const { version } = computedOf(listing.committed);
    if (version === written) return;
    // Started from the stored snapshot and nothing landed since: it already says this.
    if (await isFromSnapshot(location.derivedBucket, listing.committed)) {
      written = version;
      return;
    }
    const { bytes } = await writeCatalogSnapshot(location.store, location.derivedBucket, snapshotOf(listing.position, listing.listedAt, listing.committed));
    written = version;
    log.info({ recordings: listing.committed.length, bytes, position: listing.position }, 'catalog snapshot written');
  };
  const run = (): Promise<void> => {
    running = running.then(pass).catch((error: unknown) => log.warn({ err: error }, 'could not write the catalog snapshot; retrying next interval'));
    return running;
  };
  void run();
  const timer = setInterval(() => void run(), intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
