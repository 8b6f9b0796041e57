/**
 * The stored format of a persisted similarity index over one per-window feature table: an
 * HNSW graph (hnswlib's file, content-addressed) and a descriptor saying which committed
 * recordings it holds, which label is which window, and the normaliser its vectors went
 * through. A pointer names the newest descriptor. The index is an accelerator, never the
 * truth: whoever searches first brings it up to date with the catalog.
 */
import { z } from 'zod';
import { McapflowError } from '../errors.ts';
import { TABLE_NAME_PATTERN } from './table-names.ts';

export const SIMILARITY_INDEX_FORMAT = 'mcapflow.similarity-index/1';
export const SIMILARITY_POINTER_FORMAT = 'mcapflow.similarity-pointer/1';
export const SIMILARITY_PREFIX = 'similarity/';

/** One window of an indexed recording: `[topic, window_start, window_end]`, times in ns as strings. */
export type IndexedWindow = [topic: string, windowStart: string, windowEnd: string];

export interface IndexedRecording {
  recording_id: string;
  /** What the windows were read from: a digest of the table objects' sha256s. Another digest means re-index. */
  content: string;
  /** Labels `first_label … first_label + windows.length - 1`, in the order of `windows`. */
  first_label: number;
  windows: IndexedWindow[];
}

export interface SimilarityIndexDescriptor {
  format: typeof SIMILARITY_INDEX_FORMAT;
  table: string;
  dims: number;
  /** HNSW parameters the graph was built with. */
  m: number;
  ef_construction: number;
  /**
   * Each feature becomes (x - mean) / std (0 where std is 0), frozen when the index was built,
   * over `windows` windows (absent in indexes written before it was kept: taken as 0). The index
   * is rebuilt once it holds twice as many, so the scaling follows what the fleet records.
   */
  normaliser: { mean: number[]; std: number[]; windows?: number | undefined };
  graph: { key: string; sha256: string; bytes: number };
  /** The next label to hand out; labels of re-indexed or removed recordings are deleted in the graph, never reused. */
  next_label: number;
  /** Labels marked deleted in the graph. */
  deleted: number;
  recordings: IndexedRecording[];
}

export interface SimilarityPointer {
  format: typeof SIMILARITY_POINTER_FORMAT;
  descriptor: { key: string; sha256: string };
}

export class InvalidSimilarityIndexError extends McapflowError {
  constructor(what: string, problem: string) {
    super('MANIFEST_INVALID', `the similarity ${what} ${problem}`);
  }
}

export function similarityPointerKey(table: string): string {
  return `${SIMILARITY_PREFIX}${table}/current.json`;
}

export function similarityObjectKey(table: string, sha256: string, ext: 'json' | 'hnsw'): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`content address must be 64 hex characters, got ${sha256}`);
  return `${SIMILARITY_PREFIX}${table}/${sha256}.${ext}`;
}

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');
const nanoseconds = z.string().regex(/^-?\d{1,20}$/, 'must be integer nanoseconds as a string');
const label = z.number().int().nonnegative();
const key = z.string().regex(/^similarity\/[A-Za-z0-9_]+\/[0-9a-f]{64}\.(json|hnsw)$/, 'is not a similarity object key');

const descriptorSchema = z
  .object({
    format: z.literal(SIMILARITY_INDEX_FORMAT),
    table: z.string().regex(TABLE_NAME_PATTERN, 'must be a table name'),
    dims: z.number().int().positive(),
    m: z.number().int().positive(),
    ef_construction: z.number().int().positive(),
    normaliser: z.object({ mean: z.array(z.number()), std: z.array(z.number().nonnegative()), windows: z.number().int().nonnegative().optional() }),
    graph: z.object({ key, sha256, bytes: z.number().int().nonnegative() }),
    next_label: label,
    deleted: label,
    recordings: z.array(
      z.object({
        recording_id: z.string().regex(/^[0-9a-f]{32}$/, 'must be a recording id'),
        content: sha256,
        first_label: label,
        windows: z.array(z.tuple([z.string(), nanoseconds, nanoseconds])),
      }),
    ),
  })
  .superRefine((d, ctx) => {
    if (d.normaliser.mean.length !== d.dims || d.normaliser.std.length !== d.dims)
      ctx.addIssue({ code: 'custom', message: `normaliser must have ${d.dims} means and standard deviations` });
    for (const r of d.recordings)
      if (r.first_label + r.windows.length > d.next_label) ctx.addIssue({ code: 'custom', message: `recording ${r.recording_id} has labels past next_label` });
  });

const pointerSchema = z.object({
  format: z.literal(SIMILARITY_POINTER_FORMAT),
  descriptor: z.object({ key, sha256 }),
});

function parse<T>(what: string, schema: z.ZodType<T>, format: string, text: string): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InvalidSimilarityIndexError(what, `is not JSON: ${(error as Error).message}`);
  }
  const stated = (json as { format?: unknown } | null)?.format;
  if (stated !== format) throw new InvalidSimilarityIndexError(what, `has format ${JSON.stringify(stated)}; this version reads ${format}`);
  const result = schema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new InvalidSimilarityIndexError(what, `field ${issue.path.join('.') || '(root)'} ${issue.message}`);
  }
  return result.data;
}

export function parseSimilarityDescriptor(text: string): SimilarityIndexDescriptor {
  return parse<SimilarityIndexDescriptor>('index descriptor', descriptorSchema, SIMILARITY_INDEX_FORMAT, text);
}

export function parseSimilarityPointer(text: string): SimilarityPointer {
  return parse<SimilarityPointer>('index pointer', pointerSchema, SIMILARITY_POINTER_FORMAT, text);
}

/** The recording and window a label names, or undefined for a label no recording holds (deleted). */
export function windowOfLabel(recordings: readonly IndexedRecording[], label: number): { recording: IndexedRecording; window: IndexedWindow } | undefined {
  // Recordings are kept in ascending first_label order: binary search.
  let low = 0;
  let high = recordings.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const recording = recordings[middle]!;
    if (label < recording.first_label) high = middle - 1;
    else if (label >= recording.first_label + recording.windows.length) low = middle + 1;
    else return { recording, window: recording.windows[label - recording.first_label]! };
  }
  return undefined;
}

/** Mean and standard deviation of each feature over `vectors`. */
export function normaliserOf(vectors: readonly number[][], dims: number): { mean: number[]; std: number[] } {
  const mean = new Array<number>(dims).fill(0);
  const variance = new Array<number>(dims).fill(0);
  for (const v of vectors) v.forEach((x, i) => (mean[i]! += x / vectors.length));
  for (const v of vectors) v.forEach((x, i) => (variance[i]! += (x - mean[i]!) ** 2 / vectors.length));
  return { mean, std: variance.map(Math.sqrt) };
}

export function normalise(vector: readonly number[], normaliser: { mean: number[]; std: number[] }): number[] {
  return vector.map((x, i) => (normaliser.std[i]! > 0 ? (x - normaliser.mean[i]!) / normaliser.std[i]! : 0));
}
