/**
 * S3 event notifications (the AWS `Records[]` JSON, which MinIO also sends) → the objects
 * they announce as created. Pure: no I/O, so every event source shares it.
 */
import { z } from 'zod';
import { InvalidInputError } from '../errors.ts';
import { normalizeEtag, type ObjectIdentity } from './identity.ts';

const recordSchema = z.object({
  eventName: z.string(),
  eventTime: z.string().optional(),
  s3: z.object({
    bucket: z.object({ name: z.string().min(1) }),
    object: z.object({
      key: z.string().min(1),
      size: z.number().int().nonnegative().optional(),
      eTag: z.string().optional(),
      sequencer: z.string().optional(),
    }),
  }),
});

const eventSchema = z.union([
  z.object({ Records: z.array(z.unknown()) }),
  // Sent once by AWS when a notification is configured; carries no object.
  z.object({ Event: z.literal('s3:TestEvent') }),
]);

export interface ObjectCreated extends ObjectIdentity {
  /** When the object was created, per the event (ISO 8601), else when the event was read. */
  eventTime: string;
}

export interface ParseOptions {
  /** AWS and MinIO URL-encode keys in events (`+` for space); the embedded server does not. */
  keysUrlEncoded: boolean;
  /** Time to use when a record carries none. */
  now?: () => Date;
}

function decodeKey(key: string, encoded: boolean): string {
  if (!encoded) return key;
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    throw new InvalidInputError('BAD_EVENT', `object key ${JSON.stringify(key)} is not valid URL encoding`);
  }
}

/** Returns one entry per ObjectCreated record; other event types are skipped. */
export function parseS3Event(body: unknown, options: ParseOptions): ObjectCreated[] {
  const envelope = eventSchema.safeParse(body);
  if (!envelope.success) throw new InvalidInputError('BAD_EVENT', 'not an S3 event notification: expected a JSON object with a Records array');
  if (!('Records' in envelope.data)) return [];
  const now = options.now ?? (() => new Date());
  const created: ObjectCreated[] = [];
  envelope.data.Records.forEach((raw, index) => {
    const parsed = recordSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new InvalidInputError('BAD_EVENT', `Records[${index}] is malformed: ${issue ? `${issue.path.join('.')} ${issue.message}` : 'invalid'}`);
    }
    const record = parsed.data;
    if (!record.eventName.replace(/^s3:/, '').startsWith('ObjectCreated:')) return;
    const { object } = record.s3;
    if (object.size === undefined) throw new InvalidInputError('BAD_EVENT', `Records[${index}].s3.object.size is missing for an ObjectCreated event`);
    created.push({
      bucket: record.s3.bucket.name,
      key: decodeKey(object.key, options.keysUrlEncoded),
      size: object.size,
      etag: normalizeEtag(object.eTag),
      eventTime: record.eventTime ?? now().toISOString(),
    });
  });
  return created;
}
