/**
 * ros2msg schemas and CDR messages: parse a schema once, then decode messages with the
 * reference @foxglove/rosmsg2-serialization reader.
 */
import { parse } from '@foxglove/rosmsg';
import { MessageReader } from '@foxglove/rosmsg2-serialization';
import type { MessageDefinition } from '@foxglove/message-definition';

export interface Ros2Schema {
  definitions: MessageDefinition[];
  decode: (data: Uint8Array) => Record<string, unknown>;
}

/** Throws with the parser's own words when the schema text is not valid ros2msg. */
export function compileRos2Schema(schemaText: string): Ros2Schema {
  const definitions = parse(schemaText, { ros2: true });
  const reader = new MessageReader(definitions);
  return {
    definitions,
    decode: (data) => reader.readMessage<Record<string, unknown>>(data),
  };
}
