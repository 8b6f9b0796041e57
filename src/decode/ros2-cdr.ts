/**
 * ROS 2 CDR decoding with the reference @foxglove/rosmsg2-serialization reader, plus `wstring`,
 * which that reader refuses ("implementation-defined"). What rosbag2 records today (Fast DDS
 * with Fast CDR 2, Cyclone DDS) writes a wstring as a uint32 count of UTF-16 code units and
 * then the units as uint16, no terminator: byte for byte a `uint16[]` sequence. So wstring
 * fields are read as uint16 sequences and turned into strings afterwards. Recordings from
 * Fast CDR 1 (4-byte wchar, ROS 2 Humble and older with Fast DDS) do not follow this and
 * fail to decode or decode wrongly; they are rare enough not to guess between the two.
 */
import type { MessageDefinition, MessageDefinitionField } from '@foxglove/message-definition';
import { MessageReader } from '@foxglove/rosmsg2-serialization';

type Decode = (data: Uint8Array) => Record<string, unknown>;
type Fix = (value: unknown) => unknown;

/** A private type name for "one wstring" inside arrays of wstrings; cannot clash with `pkg/msg/X`. */
const WSTRING_TYPE = '__mcapflow__/wstring';

function unitsToString(units: Uint16Array): string {
  let end = units.length;
  if (end > 0 && units[end - 1] === 0) end -= 1; // tolerate a writer that adds a terminator
  let out = '';
  // In slices: fromCharCode spreads its arguments onto the stack.
  for (let i = 0; i < end; i += 8192) out += String.fromCharCode(...units.subarray(i, Math.min(end, i + 8192)));
  return out;
}

function isWstring(field: MessageDefinitionField): boolean {
  return field.isConstant !== true && field.isComplex !== true && field.type === 'wstring';
}

function rewriteField(field: MessageDefinitionField): MessageDefinitionField {
  if (!isWstring(field)) return field;
  if (field.isArray === true) return { ...field, type: WSTRING_TYPE, isComplex: true, upperBound: undefined };
  return { ...field, type: 'uint16', isArray: true, arrayLength: undefined, arrayUpperBound: undefined, upperBound: undefined };
}

/** Builds, per message type, the function turning the uint16 sequences back into strings. */
function fixerFor(definitions: MessageDefinition[]): Fix | undefined {
  const byName = new Map(definitions.map((d) => [d.name ?? '', d]));
  const memo = new Map<string, Fix | undefined>();

  const forType = (name: string, visiting: Set<string>): Fix | undefined => {
    if (memo.has(name)) return memo.get(name);
    const definition = byName.get(name);
    if (definition === undefined || visiting.has(name)) return undefined;
    visiting.add(name);
    const steps: [string, Fix][] = [];
    for (const field of definition.definitions) {
      if (field.isConstant === true) continue;
      let fix: Fix | undefined;
      if (isWstring(field)) fix = (v) => unitsToString(v as Uint16Array);
      else if (field.isComplex === true) fix = forType(field.type, visiting);
      if (fix === undefined) continue;
      const one = fix;
      if (field.isArray === true) {
        steps.push([
          field.name,
          isWstring(field) ? (v) => Array.from(v as { units: Uint16Array }[], (w) => unitsToString(w.units)) : (v) => (v as unknown[]).map(one),
        ]);
      } else {
        steps.push([field.name, one]);
      }
    }
    visiting.delete(name);
    const result: Fix | undefined =
      steps.length === 0
        ? undefined
        : (value) => {
            const record = value as Record<string, unknown>;
            for (const [field, fix] of steps) record[field] = fix(record[field]);
            return record;
          };
    memo.set(name, result);
    return result;
  };

  const root = definitions[0];
  return root === undefined ? undefined : forType(root.name ?? '', new Set());
}

/**
 * A decoder of CDR messages for `definitions` (root first). Objects come out as the reference
 * reader makes them: time/duration as `{sec, nanosec}`, 64-bit integers as bigint, primitive
 * arrays as typed arrays.
 */
export function ros2CdrDecoder(definitions: MessageDefinition[]): Decode {
  const hasWstring = definitions.some((d) => d.definitions.some(isWstring));
  if (!hasWstring) {
    const reader = new MessageReader(definitions);
    return (data) => reader.readMessage<Record<string, unknown>>(data);
  }
  const rewritten: MessageDefinition[] = [
    ...definitions.map((d) => ({ ...d, definitions: d.definitions.map(rewriteField) })),
    { name: WSTRING_TYPE, definitions: [{ name: 'units', type: 'uint16', isArray: true, isComplex: false }] },
  ];
  const reader = new MessageReader(rewritten);
  const fix = fixerFor(definitions) ?? ((v: unknown) => v);
  return (data) => fix(reader.readMessage<Record<string, unknown>>(data)) as Record<string, unknown>;
}
