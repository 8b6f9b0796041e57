/**
 * Keeps the admin process's similarity indexes current as recordings commit: every interval it
 * lists the catalog and, when that changed, adds the new recordings' windows to the index of
 * imu_windows and of every window table searched since the process started, so the first search
 * after a commit does not pay for it. The catalog stays the truth: a search refreshes too.
 */
import { committedRecordings, computedOf, type CatalogLocation } from '../catalog/query-session.ts';
import { openedSimilarityTables, openSimilarityIndex } from '../catalog/similarity-index-store.ts';
import { DEFAULT_WINDOW_TABLE } from '../catalog/window-table.ts';
import type { Logger } from '../log.ts';

export interface SimilarityRefresher {
  /** Stops the timer; resolves when a pass under way is done. */
  stop(): Promise<void>;
}

export function startSimilarityRefresher(location: CatalogLocation, intervalMs: number, log: Logger): SimilarityRefresher {
  let seen = '';
  let running: Promise<void> = Promise.resolve();
  const pass = async (): Promise<void> => {
    const committed = await committedRecordings(location);
    const { version, tables: catalog } = computedOf(committed);
    if (version === seen) return;
    const present = new Set(catalog.tables.keys());
    const tables = new Set([DEFAULT_WINDOW_TABLE, ...openedSimilarityTables(location.derivedBucket)].filter((t) => present.has(t)));
    for (const table of tables) {
      const { refresh } = await openSimilarityIndex(location, table, committed);
      if (refresh.added > 0 || refresh.removed > 0) log.info({ table, similarityIndex: refresh }, 'similarity index brought up to date');
    }
    seen = version;
  };
  const refresh = (): Promise<void> => {
    running = running.then(pass).catch((error: unknown) => log.warn({ err: error }, 'could not bring the similarity index up to date; retrying next interval'));
    return running;
  };
  const timer = intervalMs > 0 ? setInterval(() => void refresh(), intervalMs) : undefined;
  timer?.unref();
  return {
    async stop() {
      if (timer !== undefined) clearInterval(timer);
      await running;
    },
  };
}
