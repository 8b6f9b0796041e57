/**
 * The registry, described for people: what `mcapflow operators` prints and the table in
 * docs/operators.md (generated from the built-ins; a test keeps the two in sync).
 */
import type { Operator } from '../sdk/operator.ts';
import { operatorId, paramsDigest, type OperatorRegistry } from './registry.ts';

export interface OperatorDescription {
  name: string;
  version: string;
  kind: 'record' | 'message' | 'table' | 'attachment';
  reads: string;
  writes: string;
  params: string;
  description: string;
}

function reads(operator: Operator): string {
  switch (operator.inputs.kind) {
    case 'records':
      return 'every record of each span';
    case 'messages': {
      const { schemas, topics } = operator.inputs;
      const named = [...(schemas ?? []).map((s) => `schema ${s}`), ...(topics ?? []).map((t) => `topic ${t}`)];
      return named.length === 0 ? 'every decodable channel' : named.join(', ');
    }
    case 'tables':
      return `tables ${operator.inputs.tables.join(', ')}`;
    case 'attachments':
      return 'Attachment and Metadata records';
  }
}

export function describeOperators(registry: OperatorRegistry): OperatorDescription[] {
  return registry.all().map((o) => ({
    name: o.name,
    version: o.version,
    kind: o.inputs.kind === 'records' ? 'record' : o.inputs.kind === 'messages' ? 'message' : o.inputs.kind === 'tables' ? 'table' : 'attachment',
    reads: reads(o),
    writes: typeof o.outputs === 'function' ? 'one table per message schema' : o.outputs.map((s) => s.name).join(', '),
    params: o.params === undefined || Object.keys(o.params).length === 0 ? '' : `${JSON.stringify(o.params)} (${paramsDigest(o)})`,
    description: o.description ?? '',
  }));
}

const cell = (text: string) => text.replace(/\|/g, '\\|');

export function operatorsMarkdown(registry: OperatorRegistry): string {
  const rows = describeOperators(registry).map(
    (d) => `| \`${operatorId(registry.get(d.name)!)}\` | ${d.kind} | ${cell(d.reads)} | ${cell(d.writes)} | ${cell(d.description)} |`,
  );
  return ['| operator | kind | reads | writes | what |', '|---|---|---|---|---|', ...rows].join('\n');
}
