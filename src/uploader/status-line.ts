/**
 * The uploader's one-line status on a terminal (stderr), redrawn in place: files done and
 * waiting, the current file's progress, the send rate over the last few seconds, and the
 * last error while retrying. Nothing is drawn when stderr is not a terminal (a service log
 * would fill with carriage returns).
 */
import bytes from 'bytes';
import type { Uploader, UploaderStatus } from './uploader.ts';

const WINDOW_MS = 5000;

export class RateMeter {
  readonly #samples: { at: number; n: number }[] = [];

  add(n: number, at = performance.now()): void {
    this.#samples.push({ at, n });
  }

  /** Bytes per second over the last few seconds. */
  rate(at = performance.now()): number {
    while (this.#samples.length > 0 && this.#samples[0]!.at < at - WINDOW_MS) this.#samples.shift();
    const total = this.#samples.reduce((sum, s) => sum + s.n, 0);
    return total / (WINDOW_MS / 1000);
  }
}

export function formatStatus(s: UploaderStatus, rate: number): string {
  const parts = [`uploaded ${s.done}`, `waiting ${s.backlog} (${bytes.format(s.backlogBytes) ?? '0B'})`];
  if (s.current) {
    const percent = s.current.size === 0 ? 100 : Math.floor((s.current.sent / s.current.size) * 100);
    parts.push(`${s.current.name} ${percent}%`, `${bytes.format(Math.round(rate)) ?? '0B'}/s`);
  }
  if (s.lastError !== undefined) parts.push(`retrying: ${s.lastError.slice(0, 80)}`);
  return parts.join(' | ');
}

/** Starts redrawing; returns the function that stops and clears the line. */
export function startStatusLine(uploader: Uploader, meter: RateMeter, stream: NodeJS.WriteStream = process.stderr): () => void {
  if (!stream.isTTY) return () => {};
  const draw = () => {
    const width = Math.max(20, (stream.columns ?? 100) - 1);
    stream.write(`\r\x1b[2K${formatStatus(uploader.status(), meter.rate()).slice(0, width)}`);
  };
  const timer = setInterval(draw, 500);
  timer.unref();
  return () => {
    clearInterval(timer);
    stream.write('\r\x1b[2K');
  };
}
