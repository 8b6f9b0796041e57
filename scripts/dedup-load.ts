/**
 * `npm run load:dedup`: 500 small recordings, each announced 3 times in one burst of S3
 * events. Prints the counts (exactly 500 ingest jobs and 500 commits expected) and the
 * throughput measured on this machine.
 */
import { runDedupBurst } from '../test/helpers/dedup-burst.ts';

const recordings = Number(process.env.LOAD_RECORDINGS ?? 500);
const result = await runDedupBurst(recordings, 3, { MCAPFLOW_WORKER_CONCURRENCY: '8', MCAPFLOW_DISPATCHER_CONCURRENCY: '16' });
process.stdout.write(`${JSON.stringify(result)}\n`);
process.stdout.write(
  `dedup-load: recordings=${result.recordings} events=${result.events} ingest_jobs=${result.ingestJobs} commits=${result.commits} ` +
    `seconds=${result.seconds.toFixed(1)} recordings_per_s=${result.recordingsPerSecond.toFixed(1)} events_per_s=${result.eventsPerSecond.toFixed(1)}\n`,
);
process.exitCode = result.ingestJobs === recordings && result.commits === recordings ? 0 : 1;
