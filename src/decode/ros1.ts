/**
 * ROS 1 schemas (ros1msg text) and messages (ros1 serialization). The parser normalises `char`
 * to uint8 and `byte` to int8; `time`/`duration` decode to `{sec, nsec}`, so the column plan
 * uses ROS 1 time field names.
 */
import { parse } from '@foxglove/rosmsg';
import { MessageReader } from '@foxglove/rosmsg-serialization';
import { planColumns, type TopColumn } from './column-plan.ts';

export interface Ros1CompiledSchema {
  columns: TopColumn[];
  decode: (data: Uint8Array) => Record<string, unknown>;
}

export function compileRos1Msg(text: string, options: { blobThresholdBytes: number }): Ros1CompiledSchema {
  const definitions = parse(text);
  const reader = new MessageReader(definitions);
  return {
    columns: planColumns(definitions, { blobThresholdBytes: options.blobThresholdBytes, timeFields: 'sec,nsec' }),
    decode: (data) => reader.readMessage<Record<string, unknown>>(data),
  };
}
