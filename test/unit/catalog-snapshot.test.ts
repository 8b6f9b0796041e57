/** The stored catalog snapshot format: a version check and every manifest in it checked as a stored manifest is. */
import { describe, expect, it } from 'vitest';
import { CATALOG_SNAPSHOT_FORMAT, InvalidCatalogSnapshotError, parseCatalogSnapshot, serializeCatalogSnapshot } from '../../src/domain/catalog-snapshot.ts';
import { manifestKey } from '../../src/domain/layout.ts';
import { parseManifest } from '../../src/domain/manifest-schema.ts';
import { serializeManifest } from '../../src/domain/manifest.ts';
import { v1Manifest, V1_ID } from '../helpers/manifest-fixture.ts';

const manifest = parseManifest(JSON.stringify(v1Manifest()), V1_ID);
const snapshot = {
  format: CATALOG_SNAPSHOT_FORMAT,
  position: '1700000000000-0|3',
  written_at: '2026-12-04T01:00:00.000Z',
  recordings: [{ version: `${manifestKey(V1_ID)}@"etag1"`, committed_at: '2026-12-04T00:59:00.000Z', manifest }],
} as const;

const problemOf = (value: unknown): string => {
  try {
    parseCatalogSnapshot(typeof value === 'string' ? value : JSON.stringify(value));
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidCatalogSnapshotError);
    return (error as Error).message;
  }
  throw new Error('parsed');
};

describe('the catalog snapshot format', () => {
  it('reads back what it wrote, manifests equal to the stored ones', () => {
    const read = parseCatalogSnapshot(serializeCatalogSnapshot({ ...snapshot, recordings: [...snapshot.recordings] }));
    expect(read.recordings[0]!.manifest).toEqual(parseManifest(serializeManifest(manifest), V1_ID));
    expect(read.position).toBe(snapshot.position);
  });

  it('names what does not fit', () => {
    expect(problemOf('{')).toMatch(/^the catalog snapshot is not JSON/);
    expect(problemOf({ ...snapshot, format: 'mcapflow.catalog-snapshot/2' })).toBe(
      'the catalog snapshot has format "mcapflow.catalog-snapshot/2"; this version reads mcapflow.catalog-snapshot/1',
    );
    expect(problemOf({ ...snapshot, recordings: [{ ...snapshot.recordings[0], version: 'manifests/x.json' }] })).toBe(
      'the catalog snapshot field recordings.0.version must be <manifest key>@<ETag>',
    );
    expect(problemOf({ ...snapshot, recordings: [{ ...snapshot.recordings[0], manifest: { ...manifest, message_count: -1 } }] })).toMatch(
      /^the catalog snapshot entry 0 \(manifests\/aaaabbbbccccddddeeeeffff00001111\.json\): the manifest does not fit .*message_count/,
    );
    const other = 'f'.repeat(32);
    expect(problemOf({ ...snapshot, recordings: [{ ...snapshot.recordings[0], version: `${manifestKey(other)}@"e"` }] })).toMatch(
      /the manifest names recording aaaabbbbccccddddeeeeffff00001111, not the f{32} of its key/,
    );
  });
});
