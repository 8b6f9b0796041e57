/**
 * ros2msg parsing that tolerates the type names real recordings mix: a field refers to
 * `std_msgs/Header` while its definition block says `MSG: std_msgs/msg/Header` (or the
 * reverse), or a bare `Header`/`Point` whose block carries the `/msg/` form. @foxglove/rosmsg
 * matches such names exactly and rejects the schema, so a second pass resolves them by
 * package and type name. Schemas the library accepts are returned exactly as it parses them.
 */
import { parse } from '@foxglove/rosmsg';
import type { MessageDefinition } from '@foxglove/message-definition';

/** `pkg/msg/Name` and `pkg/Name` are the same message; the canonical form drops `/msg/`. */
function canonical(name: string): string {
  const parts = name.split('/');
  return parts.length === 3 && parts[1] === 'msg' ? `${parts[0]}/${parts[2]}` : name;
}

function packageOf(name: string | undefined): string | undefined {
  if (name === undefined || !name.includes('/')) return undefined;
  return name.split('/')[0];
}

/** Rewrites every complex field type to the name of the definition it means; throws when none fits. */
function resolveTypeNames(definitions: MessageDefinition[], schemaName: string): void {
  const byCanonical = new Map<string, string>();
  for (const d of definitions) if (d.name !== undefined && !byCanonical.has(canonical(d.name))) byCanonical.set(canonical(d.name), d.name);
  const names = definitions.flatMap((d) => (d.name === undefined ? [] : [d.name]));

  const resolve = (type: string, owner: string | undefined): string | undefined => {
    if (type.includes('/')) return byCanonical.get(canonical(type));
    if (type === 'Header') return byCanonical.get('std_msgs/Header');
    // A bare name means "same package as the message that uses it"; the root message's package
    // comes from the schema name.
    const pkg = packageOf(owner) ?? packageOf(schemaName);
    const inPackage = pkg === undefined ? undefined : byCanonical.get(`${pkg}/${type}`);
    if (inPackage !== undefined) return inPackage;
    const matches = names.filter((n) => n.endsWith(`/${type}`));
    return matches.length === 1 ? matches[0] : undefined;
  };

  for (const d of definitions) {
    for (const field of d.definitions) {
      if (field.isComplex !== true) continue;
      const resolved = resolve(field.type, d.name);
      if (resolved === undefined) {
        throw new Error(`field ${field.name} of ${d.name ?? schemaName} refers to type ${field.type}, which the schema does not define`);
      }
      field.type = resolved;
    }
  }
}

/**
 * Parses ros2msg text (root message first, dependencies after `===` / `MSG:` lines). Throws
 * with the parser's words when the text itself is invalid, or naming the field whose type is
 * defined nowhere.
 */
export function parseRos2Msg(text: string, schemaName: string): MessageDefinition[] {
  try {
    return parse(text, { ros2: true });
  } catch (error) {
    // Only a failed type lookup is worth a second pass; a syntax error stays as the parser said it.
    let definitions: MessageDefinition[];
    try {
      definitions = parse(text, { ros2: true, skipTypeFixup: true });
    } catch {
      throw error;
    }
    resolveTypeNames(definitions, schemaName);
    return definitions;
  }
}
