/**
 * A minimal SQS endpoint on loopback speaking the AWS JSON 1.0 protocol the SDK uses:
 * ReceiveMessage (with visibility timeout) and DeleteMessage, in memory.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeSqs {
  endpoint: string;
  queueUrl: string;
  send(body: string): void;
  /** Messages not deleted yet (visible or in flight). */
  remaining(): number;
  deletes: number;
  close(): Promise<void>;
}

export async function startFakeSqs(): Promise<FakeSqs> {
  const messages: { id: string; body: string; receipt: string | null; visibleAt: number }[] = [];
  const state = { deletes: 0 };
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const input = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify(body));
      };
      if (target.endsWith('.ReceiveMessage')) {
        const now = Date.now();
        const visible = messages.filter((m) => m.visibleAt <= now).slice(0, Number(input.MaxNumberOfMessages ?? 1));
        for (const m of visible) {
          m.receipt = randomUUID();
          m.visibleAt = now + 30_000;
        }
        const respond = () =>
          reply(200, {
            Messages: visible.map((m) => ({
              MessageId: m.id,
              ReceiptHandle: m.receipt,
              Body: m.body,
              MD5OfBody: createHash('md5').update(m.body).digest('hex'),
            })),
          });
        // Long polling, shortened: an empty queue answers after a moment, not 20 s.
        if (visible.length === 0) setTimeout(respond, 100);
        else respond();
        return;
      }
      if (target.endsWith('.DeleteMessage')) {
        const index = messages.findIndex((m) => m.receipt === input.ReceiptHandle);
        if (index >= 0) {
          messages.splice(index, 1);
          state.deletes += 1;
        }
        reply(200, {});
        return;
      }
      reply(400, { __type: 'com.amazonaws.sqs#InvalidAction', message: `unsupported ${target}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    queueUrl: `${endpoint}/123456789012/robot-uploads`,
    send(body) {
      messages.push({ id: randomUUID(), body, receipt: null, visibleAt: 0 });
    },
    remaining: () => messages.length,
    get deletes() {
      return state.deletes;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
