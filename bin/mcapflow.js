#!/usr/bin/env node
// Entry point for the `mcapflow` command. Sources are TypeScript run through tsx's loader,
// so the repository works without a build step; child processes inherit the same loader.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
