/**
 * rosbag2 records a service as `<service>/_service_event` topics of type `pkg/srv/Name_Event`,
 * but stores the `.srv` text as the schema (request fields, `---`, response fields), usually
 * after a `SRV: pkg/srv/Name` header and followed by `MSG:` blocks of its dependencies
 * (ros2/rosbag2#2365). That is not a message definition, so @foxglove/rosmsg rejects it. The
 * messages on the topic are service_msgs events (ROS 2 Iron and later); this module rewrites
 * the text into that event message so the normal ros2msg path can parse and decode it.
 */

const SEPARATOR = '='.repeat(80);

/** service_msgs/msg/ServiceEventInfo as shipped with ROS 2 Iron and later. */
const SERVICE_EVENT_INFO = [
  'uint8 REQUEST_SENT=0',
  'uint8 REQUEST_RECEIVED=1',
  'uint8 RESPONSE_SENT=2',
  'uint8 RESPONSE_RECEIVED=3',
  'uint8 event_type',
  'builtin_interfaces/Time stamp',
  'char[16] client_gid',
  'int64 sequence_number',
].join('\n');
const EVENT_INFO_NAME = 'service_msgs/msg/ServiceEventInfo';

interface Section {
  /** `MSG`, `SRV`, `IDL`, `ACTION`, or undefined for the unnamed root block. */
  kind: string | undefined;
  name: string | undefined;
  lines: string[];
}

/** Splits schema text at `===` lines the way @foxglove/rosmsg does, reading each block's header. */
function sections(text: string): Section[] {
  const out: Section[] = [];
  let current: Section = { kind: undefined, name: undefined, lines: [] };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('==')) {
      out.push(current);
      current = { kind: undefined, name: undefined, lines: [] };
      continue;
    }
    const header = /^(MSG|SRV|IDL|ACTION):\s*(\S+)/.exec(line);
    if (header && current.kind === undefined && current.lines.every((l) => l === '' || l.startsWith('#'))) {
      current.kind = header[1];
      current.name = header[2];
      continue;
    }
    current.lines.push(raw);
  }
  out.push(current);
  return out.filter((s) => s.kind !== undefined || s.lines.some((l) => l.trim() !== ''));
}

function isDivider(line: string): boolean {
  return line.trim() === '---';
}

function serviceSection(all: Section[]): Section | undefined {
  return all.find((s) => s.kind === 'SRV' || s.kind === 'ACTION' || (s.kind === undefined && s.lines.some(isDivider)));
}

/** True when the schema text is a `.srv` (or `.action`) rather than a message definition. */
export function isServiceSchemaText(text: string): boolean {
  return serviceSection(sections(text)) !== undefined;
}

/** `pkg/srv/Name_Event` or `pkg/srv/Name` → `pkg/srv/Name`. */
function serviceTypeName(schemaName: string, section: Section): string {
  if (section.name !== undefined) return section.name;
  return schemaName.endsWith('_Event') ? schemaName.slice(0, -'_Event'.length) : schemaName;
}

/**
 * The ros2msg text of the service event message for a `.srv` schema text: ServiceEventInfo,
 * then at most one request and at most one response, with the schema's own dependency
 * blocks kept. Throws, with a reason a user can act on, for action schemas and IDL blocks.
 */
export function serviceEventSchemaText(text: string, schemaName: string): string {
  const all = sections(text);
  const service = serviceSection(all);
  if (service === undefined) throw new Error(`schema ${schemaName} is not a service definition (no '---' line)`);
  const dividers = service.lines.filter(isDivider).length;
  if (service.kind === 'ACTION' || dividers > 1) {
    throw new Error(
      `schema ${schemaName} is an action definition (.action text with ${dividers} '---' lines); action introspection topics are not decoded yet`,
    );
  }
  const idl = all.find((s) => s.kind === 'IDL');
  if (idl !== undefined) throw new Error(`service schema ${schemaName} has its dependency ${idl.name} as IDL, which cannot be mixed into a ros2msg definition`);

  const name = serviceTypeName(schemaName, service);
  const split = service.lines.findIndex(isDivider);
  const request = service.lines.slice(0, split).join('\n');
  const response = service.lines.slice(split + 1).join('\n');
  const dependencies = all.filter((s) => s !== service && s.kind === 'MSG');
  const block = (blockName: string, body: string) => `${SEPARATOR}\nMSG: ${blockName}\n${body}`;

  return [
    `${EVENT_INFO_NAME} info\n${name}_Request[<=1] request\n${name}_Response[<=1] response`,
    // A schema that already carries ServiceEventInfo keeps its own copy.
    ...(dependencies.some((d) => d.name === EVENT_INFO_NAME) ? [] : [block(EVENT_INFO_NAME, SERVICE_EVENT_INFO)]),
    block(`${name}_Request`, request),
    block(`${name}_Response`, response),
    ...dependencies.map((d) => block(d.name!, d.lines.join('\n'))),
  ].join('\n');
}
