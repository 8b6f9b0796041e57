/**
 * How much of a recording the dispatcher reads to plan it. A real ingest job runs (this
 * process: embedded s3rver + dispatcher, no workers) with every pipeline S3 request going
 * through a counting proxy; the recording is uploaded around the proxy, so what the proxy
 * sees is exactly the dispatcher's traffic. The figure is the response bytes of GETs on the
 * recording's own key over its size. The ingest job's own account (RangedReadable
 * `bytesFetched`, which it writes to the job log) is reported next to it as a cross-check.
 *
 *   npx tsx bench/planning.ts --file PATH
 */
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { submitFile } from '../src/cli/submit.ts';
import { createStore } from '../src/runtime/services.ts';
import { FINAL_STATES } from '../src/status/recording-status.ts';
import { startHarness } from '../test/helpers/pipeline-harness.ts';
import { startCountingProxy, type CountingProxy } from './counting-proxy.ts';
import { benchPrefix } from './prefix.ts';

export interface PlanningResult {
  fileBytes: number;
  /** GET response bytes of the recording's key, as counted by the proxy. */
  bytesRead: number;
  requests: number;
  readFraction: number;
  /** What the ingest job logged (`planning read N bytes in M requests`), when found. */
  jobLog: string | undefined;
  /** Seconds from the upload's completion to the plan being stored and the flow added. */
  planningS: number;
  uploadS: number;
  spans: number;
}

export async function measurePlanning(path: string, options: { log?: (line: string) => void } = {}): Promise<PlanningResult> {
  const log = options.log ?? (() => {});
  let proxy: CountingProxy | undefined;
  const harness = await startHarness(
    'bench-plan',
    { MCAPFLOW_LOG_LEVEL: 'silent' },
    {
      roles: { dispatcher: true, worker: false },
      prefix: benchPrefix('planning'),
      s3Endpoint: async (embedded) => {
        proxy = await startCountingProxy(embedded);
        return proxy.endpoint;
      },
    },
  );
  // Uploads go straight to s3rver, around the proxy.
  const direct = createStore(harness.config, { ...harness.env.endpoints, s3Endpoint: harness.env.embeddedS3!.endpoint });
  try {
    const fileBytes = statSync(path).size;
    const started = performance.now();
    const submitted = await submitFile({ ...harness.services, store: direct }, path);
    const uploaded = performance.now();
    log(`uploaded ${(fileBytes / 2 ** 30).toFixed(2)} GiB in ${((uploaded - started) / 1000).toFixed(1)} s`);
    const deadline = Date.now() + 120_000;
    for (;;) {
      const s = await harness.services.status.get(submitted.recordingId);
      if (s?.state === 'processing') break;
      if (s !== undefined && FINAL_STATES.includes(s.state)) throw new Error(`planning ended ${s.state}: ${s.reason}`);
      if (Date.now() > deadline) throw new Error('planning did not finish within 120 s');
      await new Promise((r) => setTimeout(r, 20));
    }
    const planningS = (performance.now() - uploaded) / 1000;
    const objectPath = `/${submitted.bucket}/${submitted.key}`;
    const reads = proxy!.requests.filter((r) => r.method === 'GET' && r.path === objectPath);
    const bytesRead = reads.reduce((n, r) => n + r.responseBytes, 0);
    const ingest = harness.services.queues.queue('ingest');
    const [job] = await ingest.getJobs(['completed', 'active', 'waiting'], 0, 0);
    const logs = job?.id === undefined ? undefined : await ingest.getJobLogs(job.id);
    const jobLog = logs?.logs.find((l) => l.startsWith('planning read'));
    const commit = await harness.services.queues.queue('commit').getJobs(['waiting-children'], 0, 0);
    const deps = commit[0] ? await commit[0].getDependenciesCount({ unprocessed: true }) : undefined;
    return {
      fileBytes,
      bytesRead,
      requests: reads.length,
      readFraction: bytesRead / fileBytes,
      jobLog,
      planningS,
      uploadS: (uploaded - started) / 1000,
      spans: (deps?.unprocessed ?? 0) / 2,
    };
  } finally {
    direct.close();
    await harness.close();
    await proxy?.close();
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { file: { type: 'string' } } });
  if (values.file === undefined) throw new Error('--file is required');
  const result = await measurePlanning(values.file, { log: (line) => process.stderr.write(`[planning] ${line}\n`) });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
