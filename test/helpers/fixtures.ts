/** The real rosbag2 recordings (test/fixtures/rosbag2, copied from ../shared/fixtures) and their expected counts. */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const FIXTURES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/rosbag2');

export interface Fixture {
  name: string;
  path: string;
  /** topic → message count, from rosbag2's metadata.yaml (absent for only_topics). */
  expected: Map<string, number> | undefined;
}

interface RosbagMetadata {
  rosbag2_bagfile_information: { topics_with_message_count: { message_count: number; topic_metadata: { name: string } }[] };
}

export function fixtures(): Fixture[] {
  return readdirSync(FIXTURES_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => {
      const dir = join(FIXTURES_DIR, d.name);
      const mcap = readdirSync(dir).find((f) => f.endsWith('.mcap'))!;
      const metadataPath = join(dir, 'metadata.yaml');
      let expected: Map<string, number> | undefined;
      if (existsSync(metadataPath)) {
        const metadata = parse(readFileSync(metadataPath, 'utf8')) as RosbagMetadata;
        expected = new Map(metadata.rosbag2_bagfile_information.topics_with_message_count.map((t) => [t.topic_metadata.name, t.message_count]));
      }
      return { name: d.name, path: join(dir, mcap), expected };
    });
}

export function fixture(name: string): Fixture {
  const found = fixtures().find((f) => f.name === name);
  if (!found) throw new Error(`no fixture ${name}`);
  return found;
}
