/**
 * The operator bench/backfill.ts adds to a running deployment: a table operator over the
 * committed `sensor_msgs_msg_Imu` table, written with the public SDK as a user would (loaded
 * with MCAPFLOW_OPERATORS). One row per recording and IMU topic: how many samples, the time
 * they span, and the mean and standard deviation of the linear acceleration and yaw rate.
 */
import { arrow, defineOperator } from 'mcapflow/sdk';

const float = (name: string) => new arrow.Field(name, new arrow.Float64(), true);

export default defineOperator({
  name: 'imu_topic_stats',
  version: '1',
  description: 'Per recording and IMU topic: samples, time span, mean and std of linear acceleration and yaw rate.',
  inputs: { kind: 'tables', tables: ['sensor_msgs_msg_Imu'] },
  outputs: [
    {
      name: 'imu_topic_stats',
      schema: new arrow.Schema([
        new arrow.Field('recording_id', new arrow.Utf8(), true),
        new arrow.Field('topic', new arrow.Utf8(), true),
        new arrow.Field('samples', new arrow.Int64(), true),
        new arrow.Field('first_log_time', new arrow.Int64(), true),
        new arrow.Field('last_log_time', new arrow.Int64(), true),
        ...['x', 'y', 'z'].flatMap((axis) => [float(`accel_${axis}_mean`), float(`accel_${axis}_std`)]),
        float('yaw_rate_mean'),
        float('yaw_rate_std'),
      ]),
    },
  ],
  async transform(batch) {
    const sql = await batch.duckdb();
    const accel = ['x', 'y', 'z']
      .map((axis) => `avg(linear_acceleration.${axis})::DOUBLE AS accel_${axis}_mean, stddev_pop(linear_acceleration.${axis})::DOUBLE AS accel_${axis}_std`)
      .join(', ');
    return {
      imu_topic_stats: await sql.query(
        `SELECT recording_id, topic, count(*)::BIGINT AS samples, min(log_time)::BIGINT AS first_log_time, max(log_time)::BIGINT AS last_log_time, ${accel},
           avg(angular_velocity.z)::DOUBLE AS yaw_rate_mean, stddev_pop(angular_velocity.z)::DOUBLE AS yaw_rate_std
         FROM sensor_msgs_msg_Imu GROUP BY ALL ORDER BY topic`,
      ),
    };
  },
});
