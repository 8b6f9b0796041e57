/** Tables mcapflow itself defines; a schema table never takes one of these names. */
export const CATALOG_TABLES = ['messages', 'topics', 'recordings', 'attachments', 'metadata'] as const;

/**
 * Table name of a message schema: every non-alphanumeric character becomes `_`
 * (`sensor_msgs/msg/Imu` → `sensor_msgs_msg_Imu`).
 */
export function tableNameForSchema(schemaName: string): string {
  const base = schemaName.replace(/[^A-Za-z0-9]/g, '_');
  const name = base === '' ? 'schema_' : /^[0-9]/.test(base) ? `t_${base}` : base;
  return (CATALOG_TABLES as readonly string[]).includes(name) ? `${name}_schema` : name;
}
