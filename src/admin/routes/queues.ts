import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../../errors.ts';
import { DLQ_QUEUE, QUEUE_NAMES, type PipelineQueue } from '../../queue/jobs.ts';
import { errorResponses, type AdminContext } from './context.ts';

const STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized', 'waiting-children'] as const;

export function queueRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get('/v1/queues', { schema: { summary: 'Job counts per state of every queue', tags: ['queues'] } }, async () => {
    const queues = [];
    for (const name of [...QUEUE_NAMES, DLQ_QUEUE] as const) {
      const queue = ctx.services.queues.queue(name);
      queues.push({ name, paused: await queue.isPaused(), counts: await queue.getJobCounts(...STATES) });
    }
    return { queues };
  });

  for (const action of ['pause', 'resume'] as const) {
    app.post<{ Params: { name: string } }>(
      `/v1/queues/:name/${action}`,
      {
        schema: {
          summary: `${action === 'pause' ? 'Pause' : 'Resume'} a queue (workers stop/start taking its jobs)`,
          tags: ['queues'],
          response: errorResponses,
        },
      },
      async (request) => {
        const name = request.params.name;
        if (!(QUEUE_NAMES as readonly string[]).includes(name)) throw new NotFoundError(`no queue ${name} (queues: ${QUEUE_NAMES.join(', ')})`);
        const queue = ctx.services.queues.queue(name as PipelineQueue);
        if (action === 'pause') await queue.pause();
        else await queue.resume();
        return { name, paused: await queue.isPaused() };
      },
    );
  }
}
