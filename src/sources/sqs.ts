/**
 * The SQS event source (S3 → SQS, the standard AWS wiring; also S3 → SNS → SQS): long-poll,
 * hand each message to the one S3 event handler, then delete it. A message that is not a
 * valid S3 notification, or announces only objects of buckets events are not taken from,
 * is logged and deleted (it can never succeed); one that fails for a passing reason (Redis
 * unreachable) is left to reappear after its visibility timeout.
 */
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import type { Config } from '../config/config.ts';
import { eventHandlerOptions, foreignBucketsProblem, handleS3Event, type EventOutcome } from '../dispatcher/event-handler.ts';
import { describeError, InvalidInputError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Services } from '../runtime/services.ts';

/** The S3 notification inside an SQS body, unwrapping an SNS envelope when there is one. */
export function notificationOf(body: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new InvalidInputError('BAD_EVENT', 'SQS message body is not JSON');
  }
  if (parsed !== null && typeof parsed === 'object' && (parsed as { Type?: unknown }).Type === 'Notification') {
    const message = (parsed as { Message?: unknown }).Message;
    if (typeof message !== 'string') throw new InvalidInputError('BAD_EVENT', 'SNS envelope without a Message string');
    return notificationOf(message);
  }
  return parsed;
}

export type MessageOutcome = { delete: true; outcome?: EventOutcome; invalid?: string } | { delete: false; error: string };

export async function handleSqsMessage(message: Message, services: Services): Promise<MessageOutcome> {
  try {
    const options = eventHandlerOptions(services.config, services.queues, true);
    const outcome = await handleS3Event(notificationOf(message.Body ?? ''), options);
    const problem = foreignBucketsProblem(outcome, options.buckets);
    return problem === undefined ? { delete: true, outcome } : { delete: true, outcome, invalid: problem };
  } catch (error) {
    if (error instanceof InvalidInputError) return { delete: true, invalid: error.message };
    return { delete: false, error: describeError(error) };
  }
}

export interface SqsSource {
  stop(): Promise<void>;
}

export function startSqsSource(config: Config, services: Services, log: Logger, options: { waitTimeSeconds?: number } = {}): SqsSource {
  const queueUrl = config.sqsQueueUrl!;
  const client = new SQSClient({ region: config.s3Region, ...(config.sqsEndpoint ? { endpoint: config.sqsEndpoint } : {}) });
  const abort = new AbortController();
  let stopped = false;

  const loop = (async () => {
    let failures = 0;
    while (!stopped) {
      let messages: Message[];
      try {
        const out = await client.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: options.waitTimeSeconds ?? 20 }),
          { abortSignal: abort.signal },
        );
        messages = out.Messages ?? [];
        failures = 0;
      } catch (error) {
        if (stopped) return;
        failures += 1;
        log.warn({ err: describeError(error), queue: queueUrl }, 'SQS receive failed; retrying');
        await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * 2 ** failures)));
        continue;
      }
      for (const message of messages) {
        const result = await handleSqsMessage(message, services);
        if (!result.delete) {
          log.warn({ message_id: message.MessageId, err: result.error }, 'SQS message not handled; it will be delivered again');
          continue;
        }
        if (result.invalid) log.warn({ message_id: message.MessageId, reason: result.invalid }, 'SQS message announces nothing mcapflow can take; deleted');
        for (const o of result.outcome?.enqueued ?? []) log.info({ bucket: o.bucket, key: o.key }, 'sqs: ingest enqueued');
        for (const r of result.outcome?.ignored ?? [])
          if (r.cause === 'bucket' && result.invalid === undefined)
            log.warn({ message_id: message.MessageId, bucket: r.bucket, key: r.key, reason: r.why }, 'sqs: record ignored');
        await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle! })).catch((error: unknown) => {
          log.warn(
            { message_id: message.MessageId, err: describeError(error) },
            'SQS delete failed; the message will be delivered again (duplicates collapse)',
          );
        });
      }
    }
  })();

  return {
    async stop() {
      stopped = true;
      abort.abort();
      await loop;
      client.destroy();
    },
  };
}
