/**
 * Per-window numeric features of a schema table: one row per recording, topic and window with
 * the mean, standard deviation, minimum and maximum of chosen numeric fields, and all of them
 * as one `features` vector — what similarity search indexes. `windowFeatures` makes such an
 * operator for any table (an SDK export); `imu_windows` is the built-in one over IMU data.
 */
import * as arrow from 'apache-arrow';
import type { OperatorParams, TableOperator } from '../../sdk/operator.ts';
import { TABLE_NAME_PATTERN } from '../../domain/table-names.ts';
import { InvalidInputError, McapflowError } from '../../errors.ts';

export interface WindowFeaturesOptions {
  /** Operator name, and the output table's name unless `outputTable` is given. */
  name: string;
  version: string;
  /** The schema table to summarise, e.g. `sensor_msgs_msg_Imu`. */
  table: string;
  /** Numeric fields as SQL paths into the table's columns, e.g. `linear_acceleration.x`. */
  fields: readonly string[];
  /** Window length in nanoseconds (default 1 s). */
  windowNs?: number;
  outputTable?: string;
}

const FIELD_PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const STATS = ['mean', 'std', 'min', 'max'] as const;

/** Column name of one statistic of one field: `linear_acceleration.x` → `linear_acceleration_x_mean`. */
export function featureColumn(field: string, stat: (typeof STATS)[number]): string {
  return `${field.replace(/\./g, '_')}_${stat}`;
}

export function windowFeatures(options: WindowFeaturesOptions): TableOperator {
  const windowNs = options.windowNs ?? 1_000_000_000;
  const output = options.outputTable ?? options.name.replace(/-/g, '_');
  if (!Number.isSafeInteger(windowNs) || windowNs <= 0)
    throw new InvalidInputError('BAD_ARGUMENT', `${options.name}: windowNs must be a positive integer number of nanoseconds`);
  if (options.fields.length === 0) throw new InvalidInputError('BAD_ARGUMENT', `${options.name}: name at least one numeric field`);
  for (const field of options.fields) {
    if (!FIELD_PATH.test(field))
      throw new InvalidInputError('BAD_ARGUMENT', `${options.name}: ${JSON.stringify(field)} is not a field path like linear_acceleration.x`);
  }
  if (!TABLE_NAME_PATTERN.test(options.table))
    throw new InvalidInputError('BAD_ARGUMENT', `${options.name}: ${JSON.stringify(options.table)} is not a table name`);
  const schema = new arrow.Schema([
    new arrow.Field('recording_id', new arrow.Utf8(), false),
    new arrow.Field('topic', new arrow.Utf8(), false),
    new arrow.Field('window_start', new arrow.Int64(), false),
    new arrow.Field('window_end', new arrow.Int64(), false),
    new arrow.Field('messages', new arrow.Int64(), false),
    ...options.fields.flatMap((f) => STATS.map((stat) => new arrow.Field(featureColumn(f, stat), new arrow.Float64(), true))),
    new arrow.Field('features', new arrow.List(new arrow.Field('item', new arrow.Float64(), true)), false),
  ]);
  const value = (field: string) => `CAST(${field} AS DOUBLE)`;
  const aggregates = options.fields.flatMap((f) => [
    `avg(${value(f)}) AS ${featureColumn(f, 'mean')}`,
    `coalesce(stddev_pop(${value(f)}), 0) AS ${featureColumn(f, 'std')}`,
    `min(${value(f)}) AS ${featureColumn(f, 'min')}`,
    `max(${value(f)}) AS ${featureColumn(f, 'max')}`,
  ]);
  // The vector holds each field's mean and standard deviation (NULLs as 0): windows compare by shape.
  const vector = options.fields.flatMap((f) => [`coalesce(${featureColumn(f, 'mean')}, 0)`, featureColumn(f, 'std')]).join(', ');
  const sql = `WITH w AS (
      SELECT recording_id, topic, (log_time // ${windowNs}) * ${windowNs} AS window_start, count(*)::BIGINT AS messages, ${aggregates.join(', ')}
      FROM ${options.table} GROUP BY ALL)
    SELECT recording_id, topic, window_start, window_start + ${windowNs} AS window_end, messages,
      ${options.fields.flatMap((f) => STATS.map((stat) => featureColumn(f, stat))).join(', ')},
      [${vector}]::DOUBLE[] AS features
    FROM w ORDER BY topic, window_start`;
  const params: OperatorParams = { table: options.table, fields: options.fields.join(','), windowNs };
  return {
    name: options.name,
    version: options.version,
    description: `Per ${windowNs / 1e9} s window of ${options.table}: mean, std, min and max of ${options.fields.join(', ')}.`,
    params,
    inputs: { kind: 'tables', tables: [options.table] },
    outputs: [{ name: output, schema, sortKeys: ['topic', 'window_start'] }],
    async transform(batch) {
      const session = await batch.duckdb();
      // A table of another shape (the same schema name with another definition) has none of
      // these fields: it has no windows, and the recording still commits.
      try {
        await session.query(`SELECT ${options.fields.map(value).join(', ')} FROM ${options.table} LIMIT 0`);
      } catch (error) {
        if (error instanceof McapflowError && /Binder Error/.test(error.message)) return { [output]: new arrow.Table(schema) };
        throw error;
      }
      return { [output]: await session.query(sql) };
    },
  };
}

export const IMU_FIELDS = [
  'orientation.x',
  'orientation.y',
  'orientation.z',
  'orientation.w',
  'angular_velocity.x',
  'angular_velocity.y',
  'angular_velocity.z',
  'linear_acceleration.x',
  'linear_acceleration.y',
  'linear_acceleration.z',
];

export const imuWindowsOperator = windowFeatures({ name: 'imu_windows', version: '1', table: 'sensor_msgs_msg_Imu', fields: IMU_FIELDS });
