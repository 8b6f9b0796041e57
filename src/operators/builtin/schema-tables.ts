/**
 * The per-schema tables: every decodable channel's messages, decoded into the columns of its
 * schema (nested messages as structs, arrays as lists, large byte arrays as references), one
 * table per schema name, with `header_stamp` when the message has a header.
 */
import type * as arrow from 'apache-arrow';
import { emptyTable } from '../../columnar/arrow-columns.ts';
import { withHeaderStamp } from '../../columnar/derived-columns.ts';
import { tableFields } from '../../decode/column-plan.ts';
import { decoderFor } from '../../decode/registry.ts';
import type { MessageOperator, RecordingInfo, TableSpec } from '../../sdk/operator.ts';
import { planOf } from '../recording-info.ts';

/** The table each decodable schema of the recording decodes to. */
function schemaTables(recording: RecordingInfo): TableSpec[] {
  const plan = planOf(recording);
  return plan.tables.map((table) => {
    const topic = plan.topics.find((t) => t.table === table)!;
    const schema = plan.schemas.find((s) => s.id === topic.schemaId);
    const columns = decoderFor(schema, { blobThresholdBytes: plan.params.blobThresholdBytes }, topic.messageEncoding).columns;
    return { name: table, schema: withHeaderStamp(emptyTable(tableFields(columns))).schema, sortKeys: ['log_time'] };
  });
}

export const schemaTablesOperator: MessageOperator = {
  name: 'schema-tables',
  version: '3',
  description: 'One table per message schema, every message decoded into its columns.',
  // No schemas or topics named: every decodable channel.
  inputs: { kind: 'messages' },
  outputs: schemaTables,
  transform(batch) {
    const out: Record<string, arrow.Table> = {};
    for (const table of batch.tables) out[table] = withHeaderStamp(batch.arrow(table));
    return out;
  },
};
