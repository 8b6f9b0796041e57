import { InvalidInputError } from '../errors.ts';

/**
 * Rejects object keys that could escape a local cache directory or confuse a path: `.` and
 * `..` segments, control characters, backslashes, absolute paths or over-long keys. Empty
 * segments (`a//b`) are legal S3 keys and are accepted.
 */
export function validateObjectKey(key: string): string {
  const problem =
    key.length === 0
      ? 'is empty'
      : Buffer.byteLength(key) > 1024
        ? 'is longer than 1024 bytes'
        : key.startsWith('/')
          ? 'is an absolute path'
          : // eslint-disable-next-line no-control-regex -- control characters are exactly what this rejects
            /[\u0000-\u001f\u007f]/.test(key)
            ? 'contains a control character'
            : key.split('/').some((s) => s === '..' || s === '.')
              ? 'contains a "." or ".." segment'
              : key.includes('\\')
                ? 'contains a backslash'
                : undefined;
  if (problem) throw new InvalidInputError('BAD_KEY', `object key ${JSON.stringify(key.slice(0, 200))} ${problem}`);
  return key;
}
