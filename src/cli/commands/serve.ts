import type { Command } from 'commander';
import { loadConfig } from '../../config/config.ts';
import { accessSync, constants } from 'node:fs';
import { describeError, InvalidInputError } from '../../errors.ts';
import { createHttpServer, listen } from '../../http/server.ts';
import { createLogger } from '../../log.ts';
import { prepareEnvironment } from '../../runtime/environment.ts';
import { startPipeline } from '../../runtime/pipeline.ts';
import { registerLocalServer, unregisterLocalServer } from '../../runtime/local-server.ts';
import { Backfills } from '../../admin/backfills.ts';
import { adminPlugin } from '../../admin/plugin.ts';
import { resolveTokens, tokensFile } from '../../admin/tokens.ts';
import { startSqsSource } from '../../sources/sqs.ts';
import { runUploader } from '../../uploader/run-uploader.ts';
import { uploaderOptions } from '../../uploader/uploader-config.ts';

// The uploader is not part of `all`: it runs on a robot, next to its recorder, not in the cluster.
const ROLES = ['dispatcher', 'worker', 'admin', 'all', 'uploader'] as const;
type Role = (typeof ROLES)[number];

function collectRoles(value: string, previous: Role[]): Role[] {
  const roles = value.split(',').map((r) => r.trim());
  for (const role of roles) {
    if (!(ROLES as readonly string[]).includes(role))
      throw new InvalidInputError('BAD_ARGUMENT', `unknown role ${JSON.stringify(role)} (roles: ${ROLES.join(', ')})`);
  }
  return [...previous, ...(roles as Role[])];
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description(
      'Run service roles until SIGTERM/SIGINT. dispatcher: ingest and scan jobs (plus the embedded S3 server and its events on the embedded default); worker: index, extract, convert and commit jobs; admin: the admin API and the web UI (status, data browser, SQL console); all: every role. uploader (not part of all): the edge uploader, which watches MCAPFLOW_UPLOAD_WATCH_DIR and uploads every finished recording (alone it needs no Redis; see docs/operations.md). Every role serves /healthz, /readyz and /metrics on MCAPFLOW_HTTP_PORT.',
    )
    .option('--role <roles>', 'dispatcher, worker, admin, all or uploader; repeat or comma-separate', collectRoles, [] as Role[])
    .action(async (options: { role: Role[] }) => {
      // Listen before starting anything: a signal during startup is a stop request too.
      const stopRequested = new Promise<string>((resolve) => {
        process.once('SIGTERM', () => resolve('SIGTERM'));
        process.once('SIGINT', () => resolve('SIGINT'));
      });
      const roles = options.role.length === 0 ? (['all'] as Role[]) : options.role;
      const has = (role: Role) => roles.includes('all') || roles.includes(role);
      const config = loadConfig();
      const log = createLogger(config.logLevel, { roles: roles.join(',') });
      const pipelineRoles = roles.some((role) => role !== 'uploader');
      // Validate the uploader's options before starting anything else.
      const upload = roles.includes('uploader') ? uploaderOptions(config) : undefined;
      const env = await prepareEnvironment(config, pipelineRoles ? { redis: true } : { redis: false, ensureBuckets: false });
      const pipeline = pipelineRoles ? await startPipeline(config, env, { dispatcher: has('dispatcher'), worker: has('worker') }, log) : undefined;
      const uploader =
        upload &&
        runUploader(config, env.endpoints, upload, {
          onFileDone: (file) => log.info({ file: file.source, uri: file.uri, outcome: file.outcome, size: file.size, after: file.after }, 'recording uploaded'),
          onFailure: (name, error, retryInMs) => log.warn({ file: name, err: describeError(error), retry_in_ms: retryInMs }, 'upload attempt failed'),
        });
      const app = createHttpServer({
        ...(pipeline ? { services: pipeline.services } : {}),
        ...(upload ? { readiness: { watch_dir: async () => accessSync(upload.dir, constants.R_OK | constants.W_OK) } } : {}),
        bodyLimit: config.bodyLimitBytes,
      });
      let backfills: Backfills | undefined;
      if (has('admin')) {
        const { tokens, generated } = resolveTokens(config, config.s3Endpoint === undefined);
        for (const name of generated)
          process.stderr.write(
            `mcapflow: generated the ${name} token ${tokens[name]} (saved in ${tokensFile(config.home)}; set MCAPFLOW_${name.toUpperCase()}_TOKEN to choose your own)\n`,
          );
        backfills = new Backfills(pipeline!.services, log);
        await app.register(adminPlugin, { services: pipeline!.services, backfills, tokens, log });
        await backfills.resumeAll();
      }
      const sqs = has('dispatcher') && config.sqsQueueUrl !== undefined ? startSqsSource(config, pipeline!.services, log) : undefined;
      const url = await listen(app, config.httpHost, config.httpPort);
      if (env.embeddedS3 !== undefined) registerLocalServer(config.home, { pid: process.pid, s3Endpoint: env.embeddedS3.endpoint, httpUrl: url });
      log.info(
        {
          http: url,
          redis: pipelineRoles ? env.endpoints.redisUrl : undefined,
          watch: upload?.dir,
          s3: env.endpoints.s3Endpoint ?? 'aws',
          prefix: config.prefix,
        },
        'mcapflow serving',
      );

      const signal = await stopRequested;
      log.info({ signal, drain_timeout_ms: config.drainTimeoutMs }, 'stopping: no new jobs; running jobs may finish until the drain deadline');
      unregisterLocalServer(config.home);
      await sqs?.stop();
      await backfills?.close();
      await uploader?.stop();
      await app.close();
      await pipeline?.stop();
      await env.stop();
      log.info('stopped');
    });
}
