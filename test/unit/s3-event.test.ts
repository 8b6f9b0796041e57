import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/errors.ts';
import { parseS3Event } from '../../src/domain/s3-event.ts';

const encoded = { keysUrlEncoded: true };

/** A notification as AWS S3 sends it (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html). */
function awsRecord(overrides: { eventName?: string; key?: string; size?: number | undefined; eTag?: string; eventTime?: string } = {}) {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'eu-west-1',
    eventTime: overrides.eventTime ?? '2026-01-15T09:12:33.512Z',
    eventName: overrides.eventName ?? 'ObjectCreated:CompleteMultipartUpload',
    userIdentity: { principalId: 'AWS:AIDAEXAMPLE' },
    requestParameters: { sourceIPAddress: '203.0.113.9' },
    responseElements: { 'x-amz-request-id': 'C3D13FE58DE4C810', 'x-amz-id-2': 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD' },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'mcapflow-ingest',
      bucket: { name: 'robot-raw', ownerIdentity: { principalId: 'A3NL1KOZZKExample' }, arn: 'arn:aws:s3:::robot-raw' },
      object: {
        key: overrides.key ?? 'runs/2026-01-15/robot+7+run%2B1.mcap',
        ...('size' in overrides ? (overrides.size === undefined ? {} : { size: overrides.size }) : { size: 734_003_200 }),
        eTag: overrides.eTag ?? '5d1c0ad1b2c9c2a0f6c5d9a4a31f0e07-88',
        versionId: '096fKKXTRTtl3on89fVO.nfljtsv6qko',
        sequencer: '0055AED6DCD90281E5',
      },
    },
  };
}

describe('parseS3Event', () => {
  it('reads an AWS notification, decoding "+" as space and %2B as plus', () => {
    const created = parseS3Event({ Records: [awsRecord()] }, encoded);
    expect(created).toEqual([
      {
        bucket: 'robot-raw',
        key: 'runs/2026-01-15/robot 7 run+1.mcap',
        size: 734_003_200,
        etag: '5d1c0ad1b2c9c2a0f6c5d9a4a31f0e07-88',
        eventTime: '2026-01-15T09:12:33.512Z',
      },
    ]);
  });

  it('reads a MinIO webhook body (top-level EventName and Key beside Records, s3: prefixed event names)', () => {
    const body = {
      EventName: 's3:ObjectCreated:Put',
      Key: 'robot-raw/runs/a b.mcap',
      Records: [
        {
          eventVersion: '2.0',
          eventSource: 'minio:s3',
          awsRegion: '',
          eventTime: '2026-01-15T09:00:01.000Z',
          eventName: 's3:ObjectCreated:Put',
          userIdentity: { principalId: 'minioadmin' },
          requestParameters: { principalId: 'minioadmin', region: '', sourceIPAddress: '172.18.0.1' },
          responseElements: { 'x-amz-id-2': 'dd9025bab4ad464b', 'x-amz-request-id': '17B0B2C7E1D4A1F6', 'x-minio-origin-endpoint': 'http://172.18.0.2:9000' },
          s3: {
            s3SchemaVersion: '1.0',
            configurationId: 'Config',
            bucket: { name: 'robot-raw', ownerIdentity: { principalId: 'minioadmin' }, arn: 'arn:aws:s3:::robot-raw' },
            object: {
              key: 'runs%2Fa+b.mcap',
              size: 4096,
              eTag: '"0f343b0931126a20f133d67c2b018a3b"',
              contentType: 'application/octet-stream',
              userMetadata: { 'content-type': 'application/octet-stream' },
              sequencer: '17B0B2C7E2A3B5C4',
            },
          },
          source: { host: '172.18.0.1', port: '', userAgent: 'MinIO (linux; amd64) minio-go/v7.0.70' },
        },
      ],
    };
    expect(parseS3Event(body, encoded)).toEqual([
      { bucket: 'robot-raw', key: 'runs/a b.mcap', size: 4096, etag: '0f343b0931126a20f133d67c2b018a3b', eventTime: '2026-01-15T09:00:01.000Z' },
    ]);
  });

  it('returns nothing for the s3:TestEvent AWS sends when a notification is configured', () => {
    const test = {
      Service: 'Amazon S3',
      Event: 's3:TestEvent',
      Time: '2026-01-15T09:00:00.000Z',
      Bucket: 'robot-raw',
      RequestId: '5582815E1AEA5ADF',
      HostId: '8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE',
    };
    expect(parseS3Event(test, encoded)).toEqual([]);
  });

  it('skips ObjectRemoved and other event types but keeps the created ones in order', () => {
    const body = {
      Records: [
        awsRecord({ eventName: 'ObjectRemoved:Delete', key: 'gone.mcap', size: undefined }),
        awsRecord({ eventName: 'ObjectCreated:Put', key: 'one.mcap', size: 10 }),
        awsRecord({ eventName: 's3:ObjectRemoved:DeleteMarkerCreated', key: 'gone2.mcap' }),
        awsRecord({ eventName: 's3:ObjectCreated:Copy', key: 'two.mcap', size: 20 }),
        awsRecord({ eventName: 'ObjectTagging:Put', key: 'three.mcap', size: 30 }),
      ],
    };
    expect(parseS3Event(body, encoded).map((o) => [o.key, o.size])).toEqual([
      ['one.mcap', 10],
      ['two.mcap', 20],
    ]);
  });

  it('uses the supplied clock when a record has no eventTime', () => {
    const record = awsRecord();
    delete (record as { eventTime?: string }).eventTime;
    const [created] = parseS3Event({ Records: [record] }, { keysUrlEncoded: true, now: () => new Date('2030-02-03T04:05:06.000Z') });
    expect(created!.eventTime).toBe('2030-02-03T04:05:06.000Z');
  });

  it('keeps % and + literal when keys are not URL-encoded (embedded server)', () => {
    const [created] = parseS3Event({ Records: [awsRecord({ key: 'runs/100%+done.mcap' })] }, { keysUrlEncoded: false });
    expect(created!.key).toBe('runs/100%+done.mcap');
  });

  function badEvent(body: unknown, options = encoded): InvalidInputError {
    try {
      parseS3Event(body, options);
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).code).toBe('BAD_EVENT');
      return error as InvalidInputError;
    }
    throw new Error('expected parseS3Event to throw');
  }

  it('rejects bodies that are not S3 notifications with BAD_EVENT', () => {
    for (const body of [null, 'Records', 42, {}, { Records: 'nope' }, { Event: 's3:SomethingElse' }]) badEvent(body);
  });

  it('names the path of the malformed field', () => {
    const record = awsRecord();
    (record.s3.bucket as { name: unknown }).name = 17;
    const error = badEvent({ Records: [awsRecord(), record] });
    expect(error.message).toContain('Records[1]');
    expect(error.message).toContain('s3.bucket.name');
  });

  it('rejects a created event without an object size, naming the field', () => {
    const error = badEvent({ Records: [awsRecord({ size: undefined })] });
    expect(error.message).toContain('Records[0].s3.object.size');
  });

  it('rejects a key that is not valid URL encoding when keys are encoded', () => {
    const error = badEvent({ Records: [awsRecord({ key: 'runs/100%.mcap' })] });
    expect(error.message).toContain('runs/100%.mcap');
  });
});
