/**
 * Is a committed recording current? Its manifest records every operator applied to it
 * (`name@version#params`); an operator of the registry that it lacks, or has in another version
 * or with other parameters, is stale — and so is every table operator that reads a table a
 * stale operator writes. A backfill reruns exactly those, over exactly the chunks they need.
 */
import * as arrow from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { readFile } from 'node:fs/promises';
import { ObjectCache } from '../catalog/catalog.ts';
import type { Manifest } from '../domain/manifest.ts';
import type { RecordingPlan } from '../domain/plan.ts';
import type { MessageOperator, Operator } from '../sdk/operator.ts';
import { CHUNKS_TABLE } from './builtin/chunk-index.ts';
import type { WorkContext } from './context.ts';
import { operatorId, paramsDigest, type OperatorRegistry } from './registry.ts';
import { inputChannels } from './span-pass.ts';

export function appliedId(operator: Operator): string {
  return `${operatorId(operator)}#${paramsDigest(operator)}`;
}

export function staleOperators(registry: OperatorRegistry, manifest: Manifest): Operator[] {
  const stale = new Set(registry.all().filter((o) => manifest.operators[o.name] !== appliedId(o)));
  // A table operator reading a table that is being rewritten must be rerun after it.
  for (let changed = true; changed;) {
    changed = false;
    for (const operator of registry.all()) {
      if (stale.has(operator) || operator.inputs.kind !== 'tables') continue;
      const readsStale = operator.inputs.tables.some((t) => {
        const maker = manifest.tables[t]?.operator;
        return maker !== undefined && [...stale].some((s) => maker.startsWith(`${s.name}@`));
      });
      if (readsStale) {
        stale.add(operator);
        changed = true;
      }
    }
  }
  return registry.all().filter((o) => stale.has(o));
}

/**
 * File offsets of the chunks a backfill of `operators` must read: those the `chunks` table says
 * hold their input channels. Undefined when every chunk is needed (a record operator is stale,
 * or the recording has no chunk index).
 */
export async function chunksToRead(
  ctx: WorkContext,
  plan: RecordingPlan,
  manifest: Manifest,
  operators: readonly Operator[],
): Promise<Set<number> | undefined> {
  if (operators.some((o) => o.inputs.kind === 'records')) return undefined;
  const messageOperators = operators.filter((o): o is MessageOperator => o.inputs.kind === 'messages');
  if (messageOperators.length === 0) return new Set();
  const objects = manifest.tables[CHUNKS_TABLE]?.objects;
  if (objects === undefined) return undefined;
  const channels = new Set(messageOperators.flatMap((o) => inputChannels(o, plan.topics).map((t) => t.channelId)));
  const cache = new ObjectCache(ctx.settings.cacheDir, ctx.store, ctx.settings.derivedBucket);
  const offsets = new Set<number>();
  for (const object of objects) {
    const table = arrow.tableFromIPC(readParquet(await readFile(await cache.path(object.key, object.sha256))).intoIPCStream());
    const chunk = table.getChild('chunk_offset');
    const channel = table.getChild('channel_id');
    if (chunk === null || channel === null) return undefined;
    for (let i = 0; i < table.numRows; i++) if (channels.has(channel.get(i) as number)) offsets.add(Number(chunk.get(i) as bigint));
  }
  return offsets;
}
