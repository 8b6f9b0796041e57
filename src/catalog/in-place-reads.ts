/**
 * Reading committed Parquet where it lies. Where DuckDB's httpfs extension loads (deployments
 * install it next to DuckDB), the views name `s3://` objects and DuckDB fetches only the footers
 * and row groups a statement needs, through the object store's own endpoint and credentials;
 * where it does not, the pruned objects are copied into the cache (query-session.ts). Whether
 * it works is found out per set of credentials by reading one object's footer through it (a
 * success holds for the process, a failure for RECHECK_FAILED_MS), so a deployment whose httpfs
 * cannot reach the store falls back (logged once) instead of failing every statement.
 */
import { createHash } from 'node:crypto';
import { DuckDBInstance } from '@duckdb/node-api';
import type { InPlaceMode } from '../config/config.ts';
import { describeError, McapflowError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ObjectStore, S3Access } from '../storage/object-store.ts';
import { lockdownStatements, quoteString } from './query-engine.ts';

/** What an engine needs to read objects in place. */
export interface InPlaceReads {
  /** Statements to run before the views are made (load httpfs, the store's secret). */
  setup: string[];
  /** Prefix of the table objects: the only remote paths a sandboxed statement may read. */
  allowedPrefix: string;
  /** Names the credentials: an engine opened with others must not be reused. */
  identity: string;
}

/**
 * The statements that give DuckDB's httpfs the store's endpoint and credentials for `scope`
 * (a temporary secret, never written to disk, used for nothing outside that prefix).
 */
export function httpfsSetup(access: S3Access, scope: string): string[] {
  const fields: [string, string][] = [
    ['TYPE', 's3'],
    ['SCOPE', quoteString(scope)],
    ['KEY_ID', quoteString(access.accessKeyId)],
    ['SECRET', quoteString(access.secretAccessKey)],
    ['REGION', quoteString(access.region)],
    ['URL_STYLE', quoteString(access.forcePathStyle ? 'path' : 'vhost')],
  ];
  if (access.sessionToken !== undefined) fields.push(['SESSION_TOKEN', quoteString(access.sessionToken)]);
  if (access.endpoint !== undefined) {
    const url = new URL(access.endpoint);
    fields.push(['ENDPOINT', quoteString(url.host)], ['USE_SSL', url.protocol === 'https:' ? 'true' : 'false']);
  }
  return ['LOAD httpfs', `CREATE OR REPLACE TEMPORARY SECRET mcapflow_store (${fields.map(([k, v]) => `${k} ${v}`).join(', ')})`];
}

/** Works, or why not and until when it is believed, per set of credentials. */
const checked = new Map<string, Promise<{ reason: string | undefined; until: number }>>();
/** How long a failed check stands before the next statement tries again (a network blip must not last the process). */
const RECHECK_FAILED_MS = 5 * 60_000;
const CHECKS_KEPT = 16;
/** Reasons already logged, per set of credentials: a deployment without httpfs is told once, not at every recheck. */
const warned = new Set<string>();

/**
 * Undefined when DuckDB reads `probeUri` through `setup` locked down as a query sandbox is,
 * else the reason it cannot.
 */
async function whyNot(setup: string[], allowedPrefix: string, probeUri: string): Promise<string | undefined> {
  let instance: DuckDBInstance | undefined;
  try {
    instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false' });
    const connection = await instance.connect();
    try {
      for (const statement of [...setup, ...lockdownStatements([allowedPrefix])]) await connection.run(statement);
      await connection.run(`SELECT count(*) FROM parquet_metadata(${quoteString(probeUri)})`);
      return undefined;
    } finally {
      connection.closeSync();
    }
  } catch (error) {
    return describeError(error).split('\n')[0];
  } finally {
    instance?.closeSync();
  }
}

/**
 * How an engine reads the objects of `bucket` in place, or undefined when it copies them:
 * `never`, a store that cannot say how to reach it, or httpfs failing to read `probeKey` (any
 * table object; logged, and tried again after RECHECK_FAILED_MS; under `require` a QUERY_FAILED
 * instead).
 */
export async function inPlaceReads(
  mode: InPlaceMode,
  store: ObjectStore,
  bucket: string,
  probeKey: string | undefined,
  log: Logger | undefined,
): Promise<InPlaceReads | undefined> {
  if (mode === 'never' || probeKey === undefined) return undefined;
  let access: S3Access | undefined;
  try {
    access = await store.directAccess?.();
  } catch (error) {
    // No credentials to hand DuckDB (the store may still be readable, e.g. anonymously): copy.
    if (mode === 'require')
      throw new McapflowError('QUERY_FAILED', `MCAPFLOW_QUERY_READ_IN_PLACE=require, but the store's credentials cannot be resolved: ${describeError(error)}`);
    return undefined;
  }
  if (access === undefined) {
    if (mode === 'require')
      throw new McapflowError('QUERY_FAILED', 'MCAPFLOW_QUERY_READ_IN_PLACE=require, but this object store cannot be read by DuckDB (not S3)');
    return undefined;
  }
  const allowedPrefix = `s3://${bucket}/objects/tables/`;
  const setup = httpfsSetup(access, allowedPrefix);
  const identity = createHash('sha256').update(setup.join('\n')).digest('hex').slice(0, 16);
  let check = checked.get(identity);
  if (check === undefined || (await check).until < Date.now()) {
    if (checked.size >= CHECKS_KEPT) checked.clear();
    check = whyNot(setup, allowedPrefix, `s3://${bucket}/${probeKey}`).then((reason) => ({
      reason,
      until: reason === undefined ? Infinity : Date.now() + RECHECK_FAILED_MS,
    }));
    checked.set(identity, check);
    const { reason } = await check;
    if (reason !== undefined && mode === 'auto' && !warned.has(`${identity} ${reason}`)) {
      if (warned.size >= CHECKS_KEPT) warned.clear();
      warned.add(`${identity} ${reason}`);
      log?.warn(
        { problem: reason },
        'DuckDB cannot read the derived bucket in place (its httpfs extension); queries copy the objects they need into the cache',
      );
    }
  }
  const { reason } = await check;
  if (reason === undefined) return { setup, allowedPrefix, identity };
  if (mode === 'require')
    throw new McapflowError('QUERY_FAILED', `MCAPFLOW_QUERY_READ_IN_PLACE=require, but DuckDB cannot read s3://${bucket} in place: ${reason}`);
  return undefined;
}
