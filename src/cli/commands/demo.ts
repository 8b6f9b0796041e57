import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import bytes from 'bytes';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { catalogLocation, queryCatalog } from '../../catalog/query-session.ts';
import { similarWindows } from '../../catalog/similarity.ts';
import { loadConfig } from '../../config/config.ts';
import { InvalidInputError } from '../../errors.ts';
import { createLogger } from '../../log.ts';
import { generateRobotRun } from '../../synth/robot-run.ts';
import { withLocalPipeline } from '../local-run.ts';
import { formatTable } from '../output.ts';
import { submitFile, waitForFinal } from '../submit.ts';
import { summarize } from '../summary.ts';

const QUESTIONS = [
  {
    title: 'Messages and rate per topic',
    sql: `SELECT topic, count(*) AS messages, round((count(*) - 1) / ((max(log_time) - min(log_time)) / 1e9), 1) AS hz
          FROM messages WHERE recording_id = $id GROUP BY topic ORDER BY topic`,
  },
  {
    title: 'IMU: mean acceleration (m/s²) and yaw rate (rad/s)',
    sql: `SELECT round(avg(linear_acceleration.x), 3) AS ax, round(avg(linear_acceleration.y), 3) AS ay,
                 round(avg(linear_acceleration.z), 3) AS az, round(avg(angular_velocity.z), 4) AS yaw_rate
          FROM sensor_msgs_msg_Imu WHERE recording_id = $id`,
  },
  {
    title: 'Odometry: distance driven and top speed',
    sql: `SELECT round(sum(step), 1) AS distance_m, round(max(speed), 2) AS top_speed_mps FROM (
            SELECT sqrt(pow(pose.pose.position.x - lag(pose.pose.position.x) OVER w, 2) + pow(pose.pose.position.y - lag(pose.pose.position.y) OVER w, 2)) AS step,
                   sqrt(pow(twist.twist.linear.x, 2) + pow(twist.twist.linear.y, 2)) AS speed
            FROM nav_msgs_msg_Odometry WHERE recording_id = $id WINDOW w AS (ORDER BY log_time))`,
  },
  {
    title: 'Camera frames: payload stored by reference',
    sql: `SELECT count(*) AS frames, round(avg(data.length) / 1024, 1) AS avg_kib, count(data.uri) AS by_reference, any_value(data.uri) AS example_uri
          FROM sensor_msgs_msg_CompressedImage WHERE recording_id = $id`,
  },
];

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'Generate a realistic synthetic robot run (IMU 200 Hz, odometry 50 Hz, TF 100 Hz, lidar point clouds 10 Hz, camera images 15 Hz; ROS 2 CDR, zstd chunks), upload it to the embedded S3 server, let the upload event drive the pipeline, then print what was committed, SQL answers and where the data lives.',
    )
    .option('--size <size>', 'approximate size of the generated recording, e.g. 100MB or 2GB', '100MB')
    .option('--seed <n>', 'random seed; the same seed and size give a byte-identical recording (already committed: nothing to redo)', '1')
    .action(async (options: { size: string; seed: string }) => {
      const sizeBytes = bytes.parse(options.size);
      if (sizeBytes === null || !(sizeBytes > 0))
        throw new InvalidInputError('BAD_ARGUMENT', `--size ${JSON.stringify(options.size)} is not a size such as 100MB or 2GB`);
      const seed = Number(options.seed);
      if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new InvalidInputError('BAD_ARGUMENT', `--seed must be an integer from 0 to 4294967295`);
      const config = loadConfig();
      const log = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
      const dir = join(config.home, 'demo');
      mkdirSync(dir, { recursive: true });
      const path = join(dir, `robot-run-${bytes.format(sizeBytes, { unitSeparator: '' })}-seed${seed}.mcap`);
      const say = (text: string) => process.stdout.write(`${text}\n`);

      say(`Generating a synthetic robot run of about ${bytes.format(sizeBytes)} → ${path}`);
      const run = await generateRobotRun({ path, sizeBytes, seed });
      say(`  ${run.messages} messages over ${(Number(run.durationNs) / 1e9).toFixed(1)} s, ${bytes.format(run.bytes)}`);

      await withLocalPipeline(config, log, async ({ services }) => {
        say('Uploading to the embedded S3 server; its ObjectCreated event starts the pipeline…');
        const started = Date.now();
        const submitted = await submitFile(services, path);
        say(`  s3://${submitted.bucket}/${submitted.key} → recording ${submitted.recordingId}`);
        const bar = new SingleBar({ format: '  {bar} {value}/{total} jobs | {state}', stream: process.stderr, hideCursor: true, clearOnComplete: false });
        bar.start(1, 0, { state: 'queued' });
        const statuses = await waitForFinal(services, [submitted.recordingId], {
          timeoutMs: 3600_000,
          onTick: (s) => {
            const status = s.get(submitted.recordingId);
            if (status === undefined) return;
            bar.setTotal(Math.max(1, status.jobsTotal));
            bar.update(Math.min(status.jobsDone, status.jobsTotal), { state: status.state });
          },
        });
        bar.stop();
        const seconds = (Date.now() - started) / 1000;
        const summary = await summarize(services, path, submitted.recordingId, statuses.get(submitted.recordingId));
        if (summary.status !== 'committed') {
          process.exitCode = 1;
          say(`The recording ended ${summary.status}: ${summary.reason}`);
          return;
        }
        say(`Committed in ${seconds.toFixed(1)} s (${(run.bytes / 1e6 / seconds).toFixed(1)} MB/s end to end): ${summary.messages} messages`);
        process.stdout.write(
          formatTable(
            ['topic', 'schema', 'messages', 'table'],
            summary.topics.map((t) => [t.topic, t.schema, t.messages, t.table ?? '-']),
            '  ',
          ),
        );
        const location = catalogLocation(config, services.store);
        for (const question of QUESTIONS) {
          const result = await queryCatalog(location, question.sql.replaceAll('$id', `'${submitted.recordingId}'`));
          say(`\n${question.title}:`);
          process.stdout.write(formatTable(result.columns, result.rows, '  '));
        }
        const turn = await queryCatalog(
          location,
          `SELECT log_time FROM sensor_msgs_msg_Imu WHERE recording_id = '${submitted.recordingId}' ORDER BY abs(angular_velocity.z) DESC LIMIT 1`,
        );
        const at = BigInt(turn.rows[0]![0] as number | string);
        const similar = await similarWindows(location, { recordingId: submitted.recordingId, at, k: 3 });
        const start = BigInt(
          (await queryCatalog(location, `SELECT start_time FROM recordings WHERE recording_id = '${submitted.recordingId}'`)).rows[0]![0] as number | string,
        );
        const offset = (ns: string | bigint) => `t+${(Number(BigInt(ns) - start) / 1e9).toFixed(0)}s`;
        say(
          `\nSimilarity search (HNSW over the per-second feature vectors of ${similar.table}, ${similar.windows} windows): moments most like the hardest turn at ${offset(similar.query.window_start)}:`,
        );
        process.stdout.write(
          formatTable(
            ['window', 'recording', 'distance'],
            similar.neighbours.map((n) => [offset(n.window_start), n.recording_id, n.distance.toFixed(3)]),
            '  ',
          ),
        );
        say('\nWhere the data lives:');
        say(`  raw recording   s3://${submitted.bucket}/${submitted.key}`);
        say(`  manifest        s3://${config.derivedBucket}/manifests/${submitted.recordingId}.json`);
        say(`  tables          s3://${config.derivedBucket}/objects/tables/…  (Parquet, content-addressed)`);
        say(`  on disk         ${join(config.home, 's3')} (embedded S3), ${join(config.home, 'cache')} (query cache)`);
        say(`  query it        npx mcapflow query "SELECT topic, count(*) FROM messages GROUP BY topic"`);
        say(`  browse it       npx mcapflow serve, then open http://127.0.0.1:${config.httpPort}/#/recording/${submitted.recordingId}`);
      });
    });
}
