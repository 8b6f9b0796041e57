import { describe, expect, it } from 'vitest';
import { runDedupBurst } from '../helpers/dedup-burst.ts';

describe('duplicate-event burst', () => {
  it('turns 40 recordings announced 3 times each, all at once, into exactly 40 ingest jobs and 40 commits', async () => {
    const result = await runDedupBurst(40, 3);
    expect(result).toMatchObject({ recordings: 40, events: 120, ingestJobs: 40, commits: 40 });
  }, 120_000);
});
