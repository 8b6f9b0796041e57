import { MSG_FILES } from './ros2-msg-files.ts';

export const ROS2_SCHEMA_NAMES = [
  'sensor_msgs/msg/Imu',
  'nav_msgs/msg/Odometry',
  'tf2_msgs/msg/TFMessage',
  'sensor_msgs/msg/PointCloud2',
  'sensor_msgs/msg/CompressedImage',
] as const;

export type Ros2SchemaName = (typeof ROS2_SCHEMA_NAMES)[number];

// Same expression rosbag2_cpp's LocalMessageDefinitionSource uses to find field types, so the
// dependency set (and therefore the concatenation order) matches what a real recorder stores.
const MSG_FIELD_TYPE_RE = /(?:^|\n)\s*([a-zA-Z0-9_/]+)(?:\[[^\]]*\])?\s+/g;

const PRIMITIVE_TYPES = new Set([
  'bool',
  'byte',
  'char',
  'float32',
  'float64',
  'int8',
  'uint8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'uint64',
  'string',
]);

const DELIMITER = '='.repeat(80);

function splitTypeName(name: string): { pkg: string; type: string } {
  const parts = name.split('/');
  const pkg = parts[0];
  const type = parts[parts.length - 1];
  if (pkg === undefined || type === undefined || parts.length < 2 || parts.length > 3) {
    throw new Error(`invalid ROS 2 type name: ${name}`);
  }
  return { pkg, type };
}

function msgFileText(name: string): string {
  const { pkg, type } = splitTypeName(name);
  const text = MSG_FILES[`${pkg}/${type}`];
  if (text === undefined) throw new Error(`no .msg text bundled for ${name}`);
  return text;
}

// rosbag2 keeps dependencies in a std::set, so they come out sorted, spelled as in the field
// (`std_msgs/Header`) or prefixed with the referencing package when unqualified (`Pose`).
function msgDependencies(text: string, pkgContext: string): string[] {
  const deps = new Set<string>();
  for (const match of text.matchAll(MSG_FIELD_TYPE_RE)) {
    const type = match[1];
    if (type === undefined || PRIMITIVE_TYPES.has(type)) continue;
    deps.add(type.includes('/') ? type : `${pkgContext}/${type}`);
  }
  return [...deps].sort();
}

/** Full `ros2msg` schema text for a type, concatenated depth-first the way rosbag2 does. */
export function buildRos2MsgDefinition(rootType: string): string {
  const seen = new Set<string>();
  const appendRecursive = (name: string): string => {
    const text = msgFileText(name);
    let result = text;
    for (const dep of msgDependencies(text, splitTypeName(name).pkg)) {
      if (seen.has(dep)) continue;
      seen.add(dep);
      result += `\n${DELIMITER}\nMSG: ${dep}\n${appendRecursive(dep)}`;
    }
    return result;
  };
  return appendRecursive(rootType);
}

export const ROS2_SCHEMAS: Readonly<Record<Ros2SchemaName, string>> = Object.fromEntries(
  ROS2_SCHEMA_NAMES.map((name) => [name, buildRos2MsgDefinition(name)]),
) as Record<Ros2SchemaName, string>;
