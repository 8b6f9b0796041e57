import { describe, expect, it } from 'vitest';
import { ingestJobIdFor, isRecordingId, normalizeEtag, recordingIdFor, type ObjectIdentity } from '../../src/domain/identity.ts';

const base: ObjectIdentity = { bucket: 'raw', key: 'runs/2026-01-15/robot-7.mcap', size: 123_456_789, etag: '9b2cf535f27731c974343645a3985328' };

describe('recording identity', () => {
  it('maps the same object to the same 32-hex recording id every time', () => {
    const id = recordingIdFor(base);
    expect(isRecordingId(id)).toBe(true);
    expect(recordingIdFor({ ...base })).toBe(id);
  });

  it('treats quoted, weak and bare ETags as the same', () => {
    const id = recordingIdFor(base);
    expect(recordingIdFor({ ...base, etag: '"9b2cf535f27731c974343645a3985328"' })).toBe(id);
    expect(recordingIdFor({ ...base, etag: 'W/"9b2cf535f27731c974343645a3985328"' })).toBe(id);
    expect(normalizeEtag('W/"abc-3"')).toBe('abc-3');
    expect(normalizeEtag('"abc"')).toBe('abc');
    expect(normalizeEtag('')).toBeUndefined();
    expect(normalizeEtag(undefined)).toBeUndefined();
  });

  it('prefers the sha256 when known, so the ETag no longer matters', () => {
    const sha = 'A'.repeat(64);
    const withSha = recordingIdFor({ ...base, sha256: sha });
    expect(withSha).not.toBe(recordingIdFor(base));
    expect(recordingIdFor({ ...base, sha256: sha, etag: 'something-else-7' })).toBe(withSha);
    expect(recordingIdFor({ ...base, sha256: sha, etag: undefined })).toBe(withSha);
    // Hex case does not change identity.
    expect(recordingIdFor({ ...base, sha256: sha.toLowerCase() })).toBe(withSha);
    expect(recordingIdFor({ ...base, sha256: 'b'.repeat(64) })).not.toBe(withSha);
  });

  it('gives a different id when size, key, bucket or ETag differ', () => {
    const id = recordingIdFor(base);
    const others = [
      { ...base, size: base.size + 1 },
      { ...base, key: 'runs/2026-01-15/robot-8.mcap' },
      { ...base, bucket: 'raw2' },
      { ...base, etag: '9b2cf535f27731c974343645a3985329' },
      { ...base, etag: undefined },
    ].map(recordingIdFor);
    expect(new Set([id, ...others]).size).toBe(others.length + 1);
  });

  it('makes ingest job ids BullMQ accepts: no ":" and not all digits, distinct from the recording id', () => {
    const jobId = ingestJobIdFor(base);
    expect(jobId).not.toContain(':');
    expect(jobId).not.toMatch(/^\d+$/);
    expect(jobId).not.toBe(recordingIdFor(base));
    expect(ingestJobIdFor({ ...base, etag: '"9b2cf535f27731c974343645a3985328"' })).toBe(jobId);
    expect(ingestJobIdFor({ ...base, key: 'other.mcap' })).not.toBe(jobId);
    // Keys full of colons (allowed in S3) still give a valid job id.
    expect(ingestJobIdFor({ ...base, key: 'a:b:c/12:00:00.mcap' })).not.toContain(':');
  });

  it('recognises recording ids', () => {
    expect(isRecordingId('0123456789abcdef0123456789abcdef')).toBe(true);
    expect(isRecordingId('0123456789ABCDEF0123456789ABCDEF')).toBe(false);
    expect(isRecordingId('0123456789abcdef0123456789abcde')).toBe(false);
    expect(isRecordingId('0123456789abcdef0123456789abcdef0')).toBe(false);
    expect(isRecordingId('../etc/passwd')).toBe(false);
    expect(isRecordingId('')).toBe(false);
  });
});
