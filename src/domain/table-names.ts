export const MESSAGES_TABLE = 'messages';
export const ATTACHMENTS_TABLE = 'attachments';
export const METADATA_TABLE = 'metadata';

/** Tables mcapflow itself defines; a schema table never takes one of these names. */
export const CATALOG_TABLES = [MESSAGES_TABLE, 'topics', 'recordings', ATTACHMENTS_TABLE, METADATA_TABLE] as const;

/**
 * Table name of a message schema: every non-alphanumeric character becomes `_`
 * (`sensor_msgs/msg/Imu` → `sensor_msgs_msg_Imu`).
 */
export function tableNameForSchema(schemaName: string): string {
  const base = schemaName.replace(/[^A-Za-z0-9]/g, '_');
  const name = base === '' ? 'schema_' : /^[0-9]/.test(base) ? `t_${base}` : base;
  return (CATALOG_TABLES as readonly string[]).includes(name) ? `${name}_schema` : name;
}
