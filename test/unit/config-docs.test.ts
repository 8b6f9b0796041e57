import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configurationMarkdown } from '../../src/config/config.ts';

describe('docs/configuration.md', () => {
  it('is exactly what the config module generates (run `npx mcapflow config --markdown > docs/configuration.md`)', () => {
    expect(readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8')).toBe(configurationMarkdown());
  });
});
