/**
 * The admin role's web UI: a page, its script and style (src/admin/ui) and uPlot for the plots,
 * read once at startup and served without sign-in (they hold no data; the API behind them
 * needs the session). Served from memory so a missing file fails at startup, not on a click.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';

const require = createRequire(import.meta.url);
const own = (name: string) => new URL(`./ui/${name}`, import.meta.url);

interface Asset {
  type: string;
  body: Buffer;
}

function loadAssets(): Map<string, Asset> {
  const modules = ['app', 'common', 'state', 'status', 'recordings', 'recording', 'plots', 'sql'].map(
    (name) => [`${name}.js`, { type: 'text/javascript; charset=utf-8', body: readFileSync(own(`${name}.js`)) }] as const,
  );
  return new Map<string, Asset>([
    ...modules,
    ['app.css', { type: 'text/css; charset=utf-8', body: readFileSync(own('app.css')) }],
    ['uplot.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js')) }],
    ['uplot.css', { type: 'text/css; charset=utf-8', body: readFileSync(require.resolve('uplot/dist/uPlot.min.css')) }],
  ]);
}

export function uiRoutes(app: FastifyInstance): void {
  const page = readFileSync(own('index.html'));
  const assets = loadAssets();
  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(page));
  app.get('/favicon.ico', { schema: { hide: true } }, async (_request, reply) => reply.code(204).send());
  app.get<{ Params: { file: string } }>('/ui/:file', { schema: { hide: true } }, async (request, reply) => {
    const asset = assets.get(request.params.file);
    if (asset === undefined) return reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no UI file ${JSON.stringify(request.params.file)}` } });
    return reply.type(asset.type).header('cache-control', 'no-cache').send(asset.body);
  });
}
