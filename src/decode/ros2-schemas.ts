/**
 * ROS 2 schemas (ros2msg and ros2idl text) → message definitions with the root message first,
 * and a CDR decoder for them.
 */
import type { MessageDefinition } from '@foxglove/message-definition';
import { parseRos2idl } from '@foxglove/ros2idl-parser';
import { ros2CdrDecoder } from './ros2-cdr.ts';
import { parseRos2Msg } from './ros2-names.ts';
import { isServiceSchemaText, serviceEventSchemaText } from './ros2-service.ts';

export interface Ros2CompiledSchema {
  definitions: MessageDefinition[];
  decode: (data: Uint8Array) => Record<string, unknown>;
}

/** ros2msg text; a `.srv` text (rosbag2 service event topics) is decoded as the event message. */
export function compileRos2Msg(text: string, schemaName: string): Ros2CompiledSchema {
  const messageText = isServiceSchemaText(text) ? serviceEventSchemaText(text, schemaName) : text;
  const definitions = parseRos2Msg(messageText, schemaName);
  return { definitions, decode: ros2CdrDecoder(definitions) };
}

const BUILTIN_TIME: Record<string, 'time' | 'duration'> = {
  'builtin_interfaces/msg/Time': 'time',
  'builtin_interfaces/msg/Duration': 'duration',
};

/**
 * ros2idl text (rosbag2 stores `IDL: pkg/msg/Type` blocks when a type has no .msg). The root is
 * the struct named like the schema, `pkg::msg::Type` and `pkg/msg/Type` alike.
 */
export function compileRos2Idl(text: string, schemaName: string): Ros2CompiledSchema {
  // The parser has its own copy of @foxglove/message-definition; the shapes are the same.
  const parsed = parseRos2idl(text) as MessageDefinition[];
  // The parser renames builtin Time/Duration `nanosec` to `nsec`; as the primitive `time` they
  // decode to `{sec, nanosec}` and get the same column type as in ros2msg tables.
  const definitions = parsed.map((d) => ({
    ...d,
    definitions: d.definitions.map((f) => {
      const builtin = f.isComplex === true ? BUILTIN_TIME[f.type] : undefined;
      return builtin === undefined ? f : { ...f, type: builtin, isComplex: false };
    }),
  }));
  const rootName = schemaName.replaceAll('::', '/');
  const root = definitions.find((d) => d.name === rootName);
  if (root === undefined) {
    const structs = definitions.filter((d) => !d.definitions.every((f) => f.isConstant === true)).map((d) => d.name);
    throw new Error(`the IDL defines no struct named ${rootName} (it defines ${structs.join(', ') || 'none'})`);
  }
  const ordered = [root, ...definitions.filter((d) => d !== root)];
  return { definitions: ordered, decode: ros2CdrDecoder(ordered) };
}
