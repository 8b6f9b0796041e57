import { isAbsolute, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configurationMarkdown, loadConfig, OPTIONS } from '../../src/config/config.ts';
import { ConfigError } from '../../src/errors.ts';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('CONFIG_INVALID');
    return error as ConfigError;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('uses the documented defaults when nothing is set', () => {
    const config = loadConfig({});
    expect(config.redisUrl).toBe('redis://127.0.0.1:6379');
    expect(config.spawnRedis).toBe(true);
    expect(config.prefix).toBe('mcapflow');
    expect(config.s3Endpoint).toBeUndefined();
    expect(config.s3ForcePathStyle).toBe(true);
    expect(config.rawBucket).toBe('raw');
    expect(config.derivedBucket).toBe('derived');
    expect(config.recordingSuffixes).toEqual(['.mcap']);
    expect(config.spanMaxBytes).toBe(32 * 1024 * 1024);
    expect(config.blobThresholdBytes).toBe(4096);
    expect(config.embeddedS3Port).toBe(0);
    expect(config.logLevel).toBe('info');
    // Every default in the table is itself valid: a key per option, none missing.
    expect(Object.keys(config).sort()).toEqual(Object.keys(OPTIONS).sort());
  });

  it('does not read process.env when given an explicit environment', () => {
    const saved = process.env.MCAPFLOW_SPAN_MAX_BYTES;
    process.env.MCAPFLOW_SPAN_MAX_BYTES = 'not-a-number';
    try {
      expect(loadConfig({}).spanMaxBytes).toBe(32 * 1024 * 1024);
    } finally {
      if (saved === undefined) delete process.env.MCAPFLOW_SPAN_MAX_BYTES;
      else process.env.MCAPFLOW_SPAN_MAX_BYTES = saved;
    }
  });

  it('parses numbers, booleans, lists and URLs from the environment', () => {
    const config = loadConfig({
      MCAPFLOW_SPAN_MAX_BYTES: '1048576',
      MCAPFLOW_BLOB_THRESHOLD_BYTES: '0',
      MCAPFLOW_WORKER_CONCURRENCY: '8',
      MCAPFLOW_SPAWN_REDIS: 'no',
      S3_FORCE_PATH_STYLE: '1',
      MCAPFLOW_RECORDING_SUFFIXES: '.mcap, .MCAP ,,.mcap.zst',
      REDIS_URL: 'rediss://cache.example.com:6380/2',
      S3_ENDPOINT: '',
      MCAPFLOW_PREFIX: '{mcapflow}',
    });
    expect(config.spanMaxBytes).toBe(1048576);
    expect(config.blobThresholdBytes).toBe(0);
    expect(config.workerConcurrency).toBe(8);
    expect(config.spawnRedis).toBe(false);
    expect(config.s3ForcePathStyle).toBe(true);
    expect(config.recordingSuffixes).toEqual(['.mcap', '.MCAP', '.mcap.zst']);
    expect(config.redisUrl).toBe('rediss://cache.example.com:6380/2');
    expect(config.s3Endpoint).toBe('');
    expect(config.prefix).toBe('{mcapflow}');
  });

  it.each([
    ['true', true],
    ['1', true],
    ['yes', true],
    ['false', false],
    ['0', false],
    ['no', false],
  ])('reads boolean %j as %s', (raw, expected) => {
    expect(loadConfig({ MCAPFLOW_SPAWN_REDIS: raw }).spawnRedis).toBe(expected);
  });

  it('resolves MCAPFLOW_HOME to an absolute path', () => {
    const config = loadConfig({ MCAPFLOW_HOME: 'state/dir' });
    expect(isAbsolute(config.home)).toBe(true);
    expect(config.home).toBe(resolve('state/dir'));
    expect(loadConfig({}).home).toBe(resolve('./.mcapflow'));
  });

  it('names the variable and the offending value', () => {
    const error = configError({ MCAPFLOW_SPAN_MAX_BYTES: '-5' });
    expect(error.message).toContain('MCAPFLOW_SPAN_MAX_BYTES');
    expect(error.message).toContain('"-5"');
  });

  it.each([
    ['MCAPFLOW_SPAWN_REDIS', 'maybe'],
    ['MCAPFLOW_WORKER_CONCURRENCY', '1.5'],
    ['MCAPFLOW_WORKER_CONCURRENCY', 'two'],
    ['MCAPFLOW_RAW_BUCKET', 'Raw_Bucket'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['MCAPFLOW_PREFIX', 'has:colon'],
    ['MCAPFLOW_LOG_LEVEL', 'verbose'],
  ])('rejects %s=%j', (name, value) => {
    const error = configError({ [name]: value });
    expect(error.message).toContain(name);
    expect(error.message).toContain(JSON.stringify(value));
  });

  it('reports every invalid variable at once, not only the first', () => {
    const error = configError({ MCAPFLOW_SPAN_MAX_BYTES: '0', MCAPFLOW_SPAWN_REDIS: 'maybe', MCAPFLOW_DERIVED_BUCKET: 'X', MCAPFLOW_WORKER_CONCURRENCY: '4' });
    expect(error.message).toContain('MCAPFLOW_SPAN_MAX_BYTES="0"');
    expect(error.message).toContain('MCAPFLOW_SPAWN_REDIS="maybe"');
    expect(error.message).toContain('MCAPFLOW_DERIVED_BUCKET="X"');
    expect(error.message).not.toContain('MCAPFLOW_WORKER_CONCURRENCY');
  });
});

describe('configurationMarkdown', () => {
  it('lists every environment variable with its default and documentation', () => {
    const markdown = configurationMarkdown();
    const rows = markdown.split('\n').filter((line) => line.startsWith('| `'));
    expect(rows).toHaveLength(Object.keys(OPTIONS).length);
    for (const spec of Object.values(OPTIONS)) {
      const row = rows.find((r) => r.startsWith(`| \`${spec.env}\` |`));
      expect(row, spec.env).toBeDefined();
      expect(row).toContain(spec.default === undefined ? '*(unset)*' : `\`${spec.default}\``);
      expect(row).toContain(spec.doc);
    }
  });
});
