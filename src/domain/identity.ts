/**
 * Identity of an uploaded object and the ids derived from it. A recording id names one
 * object's content at one location: the same upload announced many times maps to one id,
 * and a re-upload with different content maps to a new one.
 */
import { canonicalJson } from './canonical-json.ts';
import { sha256Hex } from './hash.ts';

export interface ObjectIdentity {
  bucket: string;
  key: string;
  size: number;
  /** ETag without quotes, when known. */
  etag?: string | undefined;
  /** Hex sha256 of the whole object, when the object carries one (content-based identity). */
  sha256?: string | undefined;
}

export function normalizeEtag(etag: string | undefined): string | undefined {
  if (etag === undefined || etag === '') return undefined;
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '');
}

function identityHash(kind: string, identity: ObjectIdentity): string {
  const content = identity.sha256 ? { sha256: identity.sha256.toLowerCase() } : { etag: normalizeEtag(identity.etag) ?? '' };
  return sha256Hex(canonicalJson({ v: 1, kind, bucket: identity.bucket, key: identity.key, size: identity.size, ...content }));
}

/** 32 hex characters: short enough for paths and job ids, 128 bits against collisions. */
export function recordingIdFor(identity: ObjectIdentity): string {
  return identityHash('recording', identity).slice(0, 32);
}

/**
 * Id of the ingest job for an object event. BullMQ ids may not contain `:` nor be all digits,
 * so it carries a letter prefix.
 */
export function ingestJobIdFor(identity: ObjectIdentity): string {
  return `ingest-${identityHash('ingest', identity).slice(0, 32)}`;
}

export function isRecordingId(value: string): boolean {
  return /^[0-9a-f]{32}$/.test(value);
}
