/**
 * Commands that run the whole pipeline inside this process on the embedded default
 * (`process`, `demo`): bring up Redis and S3, start dispatcher and workers, run, tear down.
 */
import type { Config } from '../config/config.ts';
import type { Logger } from '../log.ts';
import { prepareEnvironment } from '../runtime/environment.ts';
import { startPipeline, type Pipeline } from '../runtime/pipeline.ts';

export async function withLocalPipeline<T>(config: Config, log: Logger, run: (pipeline: Pipeline) => Promise<T>): Promise<T> {
  const env = await prepareEnvironment(config);
  let pipeline: Pipeline | undefined;
  const interrupt = () => {
    log.warn('interrupted: stopping after running jobs finish');
    void (pipeline?.stop() ?? Promise.resolve()).then(() => env.stop()).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    pipeline = await startPipeline(config, env, { dispatcher: true, worker: true }, log);
    return await run(pipeline);
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    await pipeline?.stop();
    await env.stop();
  }
}
