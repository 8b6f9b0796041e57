/**
 * `odometry_events`: moments worth finding in a drive, derived from odometry as it is decoded —
 * stops (speed under 5 cm/s for at least a second) and hard turns (yaw rate over 0.8 rad/s).
 * A message operator: it sees each span's decoded odometry, so an event that crosses a span
 * boundary is reported in two pieces, each marked `truncated`.
 */
import * as arrow from 'apache-arrow';
import { tableFromBuilders } from '../../decode/table-builder.ts';
import type { MessageOperator } from '../../sdk/operator.ts';

export const ODOMETRY_EVENTS_TABLE = 'odometry_events';
const ODOMETRY_SCHEMAS = ['nav_msgs/msg/Odometry', 'nav_msgs/Odometry'];

const FIELDS = [
  new arrow.Field('recording_id', new arrow.Utf8(), false),
  new arrow.Field('topic', new arrow.Utf8(), false),
  new arrow.Field('kind', new arrow.Utf8(), false),
  new arrow.Field('log_time', new arrow.Int64(), false),
  new arrow.Field('end_time', new arrow.Int64(), false),
  new arrow.Field('duration_ns', new arrow.Int64(), false),
  new arrow.Field('messages', new arrow.Int64(), false),
  /** Largest |yaw rate| (rad/s) of a hard turn; lowest speed (m/s) of a stop. */
  new arrow.Field('peak', new arrow.Float64(), false),
  /** The event runs on past the span it was seen in. */
  new arrow.Field('truncated', new arrow.Bool(), false),
];

const PARAMS = { stopSpeed: 0.05, stopMinNs: 1_000_000_000, turnRate: 0.8 } as const;

interface Sample {
  time: bigint;
  speed: number;
  yawRate: number;
}

interface Event {
  topic: string;
  kind: 'stop' | 'hard_turn';
  start: bigint;
  end: bigint;
  messages: number;
  peak: number;
  truncated: boolean;
}

/** Runs of consecutive samples that satisfy `inside`, as events. */
function runs(
  topic: string,
  samples: Sample[],
  kind: Event['kind'],
  inside: (s: Sample) => boolean,
  peakOf: (s: Sample) => number,
  better: (a: number, b: number) => boolean,
): Event[] {
  const events: Event[] = [];
  let current: Event | undefined;
  samples.forEach((s, i) => {
    if (!inside(s)) {
      if (current) events.push(current);
      current = undefined;
      return;
    }
    current ??= { topic, kind, start: s.time, end: s.time, messages: 0, peak: peakOf(s), truncated: i === 0 };
    current.end = s.time;
    current.messages += 1;
    if (better(peakOf(s), current.peak)) current.peak = peakOf(s);
  });
  if (current) events.push({ ...current, truncated: true });
  return events;
}

function vectorAt(table: arrow.Table, path: string[]): arrow.Vector | null {
  let vector: arrow.Vector | null = table.getChild(path[0]!);
  for (const name of path.slice(1)) vector = vector?.getChild(name as never) ?? null;
  return vector;
}

export const odometryEventsOperator: MessageOperator = {
  name: 'odometry-events',
  version: '1',
  description: 'Stops (speed < 5 cm/s for ≥ 1 s) and hard turns (|yaw rate| > 0.8 rad/s) detected in odometry.',
  params: PARAMS,
  inputs: { kind: 'messages', schemas: ODOMETRY_SCHEMAS },
  outputs: [{ name: ODOMETRY_EVENTS_TABLE, schema: new arrow.Schema(FIELDS), sortKeys: ['log_time'] }],
  transform(batch, ctx) {
    const events: Event[] = [];
    for (const table of batch.tables) {
      const rows = batch.arrow(table);
      const topics = rows.getChild('topic');
      const times = rows.getChild('log_time');
      const vx = vectorAt(rows, ['twist', 'twist', 'linear', 'x']);
      const vy = vectorAt(rows, ['twist', 'twist', 'linear', 'y']);
      const wz = vectorAt(rows, ['twist', 'twist', 'angular', 'z']);
      if (!topics || !times || !vx || !vy || !wz) continue;
      const byTopic = new Map<string, Sample[]>();
      for (let i = 0; i < rows.numRows; i++) {
        const topic = topics.get(i) as string;
        const list = byTopic.get(topic) ?? [];
        list.push({
          time: times.get(i) as bigint,
          speed: Math.hypot((vx.get(i) as number) ?? 0, (vy.get(i) as number) ?? 0),
          yawRate: Math.abs((wz.get(i) as number) ?? 0),
        });
        byTopic.set(topic, list);
      }
      for (const [topic, samples] of byTopic) {
        samples.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
        const stops = runs(
          topic,
          samples,
          'stop',
          (s) => s.speed < PARAMS.stopSpeed,
          (s) => s.speed,
          (a, b) => a < b,
        );
        events.push(...stops.filter((e) => e.truncated || e.end - e.start >= BigInt(PARAMS.stopMinNs)));
        events.push(
          ...runs(
            topic,
            samples,
            'hard_turn',
            (s) => s.yawRate > PARAMS.turnRate,
            (s) => s.yawRate,
            (a, b) => a > b,
          ),
        );
      }
    }
    events.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.kind.localeCompare(b.kind)));
    const builders = FIELDS.map((f) => arrow.makeBuilder({ type: f.type }));
    for (const e of events) {
      const row = [ctx.recording.id, e.topic, e.kind, e.start, e.end, e.end - e.start, BigInt(e.messages), e.peak, e.truncated];
      row.forEach((value, i) => builders[i]!.append(value));
    }
    return { [ODOMETRY_EVENTS_TABLE]: tableFromBuilders(FIELDS, builders, events.length) };
  },
};
