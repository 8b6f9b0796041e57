/**
 * Signature V4 verification in front of the embedded S3 server. s3rver 3 lets unsigned
 * requests through as anonymous and, for SigV4, only checks that the access key id is its
 * built-in `S3RVER`, never the signature; so this check runs before s3rver sees a request.
 * The canonical request is recomputed with the AWS SDK's own signer (@smithy/signature-v4,
 * the code that signed it on the client side) over exactly the headers the client signed.
 *
 * What real S3 does that this does not: the body is not hashed against
 * x-amz-content-sha256 (the signature covers the header, not the bytes that follow), and
 * presigned URLs (query-string auth) and SigV2 are refused rather than verified.
 */
import { createHash, createHmac, timingSafeEqual, type BinaryLike } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { S3Credentials } from './s3-credentials.ts';

/** How far a request's x-amz-date may be from the server's clock (S3's own limit). */
const MAX_SKEW_MS = 15 * 60 * 1000;

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/s3\/aws4_request,\s*SignedHeaders=([a-z0-9;_.-]+),\s*Signature=([0-9a-f]{64})$/;

type SourceData = string | ArrayBuffer | ArrayBufferView;

function bytesOf(data: SourceData): BinaryLike {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

/** SHA-256 (an HMAC when given a secret) in the shape the signer wants. */
class Sha256 {
  readonly #hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(secret?: SourceData) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytesOf(secret));
  }
  update(data: SourceData): void {
    this.#hash.update(bytesOf(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.#hash.digest()));
  }
}

export interface Refusal {
  code: 'AccessDenied' | 'InvalidAccessKeyId' | 'SignatureDoesNotMatch' | 'RequestTimeTooSkewed';
  message: string;
}

/** `20261202T101500Z` → Date, or undefined. */
function amzDate(value: string | undefined): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value ?? '');
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s));
}

/** Query parameters as the signer wants them: decoded, repeated ones as arrays. */
function parseQuery(raw: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
    const value = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1));
    const known = query[key];
    query[key] = known === undefined ? value : Array.isArray(known) ? [...known, value] : [known, value];
  }
  return query;
}

/** Why the request is not signed by `credentials`, or undefined when it is. */
export async function checkSignature(req: IncomingMessage, credentials: S3Credentials, now = new Date()): Promise<Refusal | undefined> {
  const url = req.url ?? '/';
  const queryStart = url.indexOf('?');
  const rawQuery = queryStart < 0 ? '' : url.slice(queryStart + 1);
  const authorization = req.headers.authorization;
  if (authorization === undefined) {
    const presigned = /(^|&)(X-Amz-Signature|Signature)=/.test(rawQuery);
    return {
      code: 'AccessDenied',
      message: presigned
        ? 'the embedded S3 server does not accept presigned URLs; sign requests with the credentials in $MCAPFLOW_HOME/s3-credentials.json'
        : 'unsigned request: the embedded S3 server needs requests signed (AWS SigV4) with the credentials in $MCAPFLOW_HOME/s3-credentials.json',
    };
  }
  const parsed = AUTHORIZATION.exec(authorization);
  if (!parsed) return { code: 'AccessDenied', message: 'the embedded S3 server accepts only AWS4-HMAC-SHA256 Authorization headers' };
  const [, accessKeyId, scopeDate, region, signedHeaderList, signature] = parsed as unknown as [string, string, string, string, string, string];
  if (accessKeyId !== credentials.accessKeyId) return { code: 'InvalidAccessKeyId', message: `access key ${accessKeyId} is not the embedded S3 server's` };
  const date = amzDate(req.headers['x-amz-date'] as string | undefined);
  if (date === undefined || !(req.headers['x-amz-date'] as string).startsWith(scopeDate)) {
    return { code: 'AccessDenied', message: 'the request needs an x-amz-date header matching its credential scope' };
  }
  if (Math.abs(now.getTime() - date.getTime()) > MAX_SKEW_MS)
    return { code: 'RequestTimeTooSkewed', message: 'the request time is more than 15 minutes from the server time' };
  const signedHeaders = signedHeaderList.split(';');
  if (!signedHeaders.includes('host') || !signedHeaders.includes('x-amz-date')) return { code: 'AccessDenied', message: 'host and x-amz-date must be signed' };
  const headers: Record<string, string> = {};
  for (const name of signedHeaders) {
    const value = req.headers[name];
    if (value === undefined) return { code: 'AccessDenied', message: `signed header ${name} is missing from the request` };
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  let query: Record<string, string | string[]>;
  try {
    query = parseQuery(rawQuery);
  } catch {
    return { code: 'AccessDenied', message: 'the query string is not valid percent-encoding' };
  }
  // S3 signs the path as sent (already URI-encoded), hence uriEscapePath: false.
  const signer = new SignatureV4({ credentials, region, service: 's3', sha256: Sha256, uriEscapePath: false, applyChecksum: false });
  const expected = await signer.sign(
    { method: req.method ?? 'GET', protocol: 'http:', hostname: headers.host!, path: queryStart < 0 ? url : url.slice(0, queryStart), query, headers },
    { signingDate: date, signableHeaders: new Set(signedHeaders), signingRegion: region, signingService: 's3' },
  );
  const computed = /Signature=([0-9a-f]{64})$/.exec(String(expected.headers.authorization ?? ''))?.[1] ?? '';
  if (computed.length !== signature.length || !timingSafeEqual(Buffer.from(computed), Buffer.from(signature))) {
    return { code: 'SignatureDoesNotMatch', message: 'the request signature does not match the embedded S3 server credentials' };
  }
  return undefined;
}

/** Answers a refused request the way S3 does: 403 with an XML error body. */
export function refuse(req: IncomingMessage, res: ServerResponse, refusal: Refusal): void {
  req.resume();
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${refusal.code}</Code><Message>${refusal.message.replace(/[<>&]/g, '')}</Message></Error>`;
  res.writeHead(403, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(req.method === 'HEAD' ? undefined : body);
}
