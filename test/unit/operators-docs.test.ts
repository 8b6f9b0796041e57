import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BUILTIN_OPERATORS } from '../../src/operators/builtin/index.ts';
import { operatorsMarkdown } from '../../src/operators/describe.ts';
import { OperatorRegistry } from '../../src/operators/registry.ts';

describe('docs/operators.md', () => {
  it('lists exactly the built-in operators (run `npx mcapflow operators --markdown`)', () => {
    const doc = readFileSync(new URL('../../docs/operators.md', import.meta.url), 'utf8');
    const between = /<!-- operators:begin -->\n([\s\S]*?)\n<!-- operators:end -->/.exec(doc)?.[1];
    expect(between).toBe(operatorsMarkdown(new OperatorRegistry(BUILTIN_OPERATORS)));
  });
});
