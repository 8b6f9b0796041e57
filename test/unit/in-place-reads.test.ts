/** The statements that let DuckDB's httpfs read the derived bucket with the store's endpoint and credentials. */
import { describe, expect, it } from 'vitest';
import { httpfsSetup } from '../../src/catalog/in-place-reads.ts';

describe('httpfs setup', () => {
  it('points DuckDB at an S3-compatible endpoint by path, without TLS for http', () => {
    expect(
      httpfsSetup(
        { endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', forcePathStyle: true, accessKeyId: 'AK', secretAccessKey: "se'cret" },
        's3://derived/objects/tables/',
      ),
    ).toEqual([
      'LOAD httpfs',
      "CREATE OR REPLACE TEMPORARY SECRET mcapflow_store (TYPE s3, SCOPE 's3://derived/objects/tables/', KEY_ID 'AK', SECRET 'se''cret', REGION 'us-east-1', URL_STYLE 'path', ENDPOINT '127.0.0.1:9000', USE_SSL false)",
    ]);
  });

  it('uses AWS for the region when there is no endpoint, with the session token of role credentials', () => {
    const [, secret] = httpfsSetup(
      { region: 'eu-west-1', forcePathStyle: false, accessKeyId: 'AK', secretAccessKey: 'S', sessionToken: 'T' },
      's3://d/objects/tables/',
    );
    expect(secret).toBe(
      "CREATE OR REPLACE TEMPORARY SECRET mcapflow_store (TYPE s3, SCOPE 's3://d/objects/tables/', KEY_ID 'AK', SECRET 'S', REGION 'eu-west-1', URL_STYLE 'vhost', SESSION_TOKEN 'T')",
    );
  });
});
