/**
 * Channels without a schema (schema id 0). Only JSON can be decoded without one: each message
 * is kept whole as JSON text in one `json` column, validated as JSON on the way in, so SQL can
 * pick fields out with DuckDB's JSON functions.
 */
import type { TopColumn } from './column-plan.ts';

export interface SchemalessCompiled {
  columns: TopColumn[];
  decode: (data: Uint8Array) => Record<string, unknown>;
}

export function compileSchemalessJson(): SchemalessCompiled {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  return {
    columns: [{ source: 'json', plan: { kind: 'primitive', name: 'json', primitive: 'string' } }],
    decode(data) {
      const text = decoder.decode(data);
      JSON.parse(text); // throws for a message that is not JSON: a decode error, not a row
      return { json: text };
    },
  };
}

/**
 * Table of a schemaless topic, as there is no schema name to derive it from: `json_` and the
 * topic with every run of non-alphanumeric characters as one `_`, trimmed (`/robot/status` →
 * `json_robot_status`, `/` → `json_root`). Never a catalog table name, as it starts with `json_`.
 * Two topics that map to the same name share the table; their rows differ in `topic`.
 */
export function tableNameForSchemalessTopic(messageEncoding: string, topic: string): string {
  const slug = topic.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  const prefix = messageEncoding.replace(/[^A-Za-z0-9]+/g, '_');
  return `${prefix}_${slug === '' ? 'root' : slug}`;
}
