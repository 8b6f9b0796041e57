/** The stored catalog snapshot format: a version check and every manifest in it checked as a stored manifest is. */
import { describe, expect, it } from 'vitest';
import {
  CATALOG_SNAPSHOT_FORMAT,
  InvalidCatalogSnapshotError,
  parseCatalogSnapshot,
  serializeCatalogSnapshot,
  type CatalogSnapshot,
} from '../../src/domain/catalog-snapshot.ts';
import { manifestKey } from '../../src/domain/layout.ts';
import { parseManifest } from '../../src/domain/manifest-schema.ts';
import { MANIFEST_FORMAT, serializeManifest } from '../../src/domain/manifest.ts';
import { v1Manifest, V1_ID } from '../helpers/manifest-fixture.ts';

const manifest = parseManifest(JSON.stringify(v1Manifest()), V1_ID);
const snapshot: CatalogSnapshot = {
  format: CATALOG_SNAPSHOT_FORMAT,
  manifest_format: MANIFEST_FORMAT,
  position: '1700000000000-0|3',
  listed_at: '2026-12-04T00:58:00.000Z',
  written_at: '2026-12-04T01:00:00.000Z',
  recordings: [{ version: `${manifestKey(V1_ID)}@"etag1"`, committed_at: '2026-12-04T00:59:00.000Z', manifest }],
};
const lines = (s: CatalogSnapshot) => [...serializeCatalogSnapshot(s)].map((l) => l.trimEnd());
/** The snapshot's lines with its header or first entry replaced by `value`. */
const withHeader = (value: Record<string, unknown>) => [JSON.stringify({ ...JSON.parse(lines(snapshot)[0]!), ...value }), ...lines(snapshot).slice(1)];
const withEntry = (value: Record<string, unknown>) => [lines(snapshot)[0]!, JSON.stringify({ ...snapshot.recordings[0], ...value })];

const problemOf = (value: string[]): string => {
  try {
    parseCatalogSnapshot(value);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidCatalogSnapshotError);
    return (error as Error).message;
  }
  throw new Error('parsed');
};

describe('the catalog snapshot format', () => {
  it('reads back what it wrote, a line per recording, manifests equal to the stored ones', () => {
    expect(lines(snapshot)).toHaveLength(2);
    const read = parseCatalogSnapshot(lines(snapshot));
    expect(read.recordings[0]!.manifest).toEqual(parseManifest(serializeManifest(manifest), V1_ID));
    expect(read).toMatchObject({ position: snapshot.position, listed_at: snapshot.listed_at });
  });

  it('names what does not fit', () => {
    expect(problemOf([])).toBe('the catalog snapshot is empty');
    expect(problemOf(['{'])).toBe('the catalog snapshot has format undefined; this version reads mcapflow.catalog-snapshot/1');
    expect(problemOf(withHeader({ format: 'mcapflow.catalog-snapshot/2' }))).toBe(
      'the catalog snapshot has format "mcapflow.catalog-snapshot/2"; this version reads mcapflow.catalog-snapshot/1',
    );
    expect(problemOf(withHeader({ manifest_format: 'mcapflow.manifest/1' }))).toBe(
      `the catalog snapshot holds manifests parsed as mcapflow.manifest/1; this version parses them as ${MANIFEST_FORMAT}`,
    );
    expect(problemOf(withHeader({ recordings: 2 }))).toBe('the catalog snapshot says it holds 2 recordings but has 1');
    expect(problemOf([lines(snapshot)[0]!, '{ cut'])).toMatch(/^the catalog snapshot entry 0 is not JSON/);
    expect(problemOf(withEntry({ version: 'manifests/x.json' }))).toBe('the catalog snapshot entry 0: field version must be <manifest key>@<ETag>');
    expect(problemOf(withEntry({ manifest: { ...manifest, message_count: -1 } }))).toMatch(
      /^the catalog snapshot entry 0 \(manifests\/aaaabbbbccccddddeeeeffff00001111\.json\): the manifest does not fit .*message_count/,
    );
    expect(problemOf(withEntry({ version: `${manifestKey('f'.repeat(32))}@"e"` }))).toMatch(
      /the manifest names recording aaaabbbbccccddddeeeeffff00001111, not the f{32} of its key/,
    );
  });
});
