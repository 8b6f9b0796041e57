/**
 * Starting and stopping the edge uploader in a process (`upload --watch`, `serve --role
 * uploader`): its store, its loop, and a stop that does not wait for a long part to finish —
 * the journals make stopping anywhere safe.
 */
import type { Config } from '../config/config.ts';
import type { ServiceEndpoints } from '../runtime/services.ts';
import { createStore } from '../runtime/services.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { Uploader, type UploaderHooks, type UploaderOptions } from './uploader.ts';

export interface RunningUploader {
  uploader: Uploader;
  store: ObjectStore;
  /** Settles when the loop ends (it only ends when stopped). */
  finished: Promise<void>;
  /** Ends the loop between steps, or after `graceMs` abandons the step in flight. */
  stop(graceMs?: number): Promise<void>;
}

export function runUploader(config: Config, endpoints: ServiceEndpoints, options: UploaderOptions, hooks: UploaderHooks = {}): RunningUploader {
  // One SDK attempt per request: paced bodies are streams the SDK cannot resend, and the
  // uploader's own retries (per part, then per file with backoff) are counted in metrics.
  const store = createStore(config, endpoints, { maxAttempts: 1 });
  const uploader = new Uploader(store, options, hooks);
  const controller = new AbortController();
  const finished = uploader.run(controller.signal);
  return {
    uploader,
    store,
    finished,
    async stop(graceMs = 2000) {
      controller.abort();
      await Promise.race([finished.catch(() => {}), new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
      store.close();
    },
  };
}
