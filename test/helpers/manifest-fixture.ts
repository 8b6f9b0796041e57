/** A stored manifest as tests need one. */
export const V1_ID = 'aaaabbbbccccddddeeeeffff00001111';

/** A manifest as mcapflow wrote it before operators (format 1): tables were plain object lists. */
export function v1Manifest(): Record<string, any> {
  const written = {
    format: 'mcapflow.manifest/1',
    recording_id: V1_ID,
    source: { uri: 's3://raw/r.mcap', bucket: 'raw', key: 'r.mcap', size: 3000, etag: 'e1', sha256: null },
    profile: 'ros2',
    library: 'test',
    planner: 'summary',
    recovered: false,
    reason: null,
    damage: [],
    message_count: 2,
    start_time: '1700000000000000000',
    end_time: '1700000000000001000',
    operators: { index: 'index@1' },
    params: { spanMaxBytes: 1024 },
    plan_key: 'objects/plans/ee/ee.json',
    topics: [
      {
        topic: '/imu',
        channel_id: 1,
        schema: 'sensor_msgs/msg/Imu',
        schema_encoding: 'ros2msg',
        message_encoding: 'cdr',
        messages: 2,
        first_log_time: '1700000000000000000',
        last_log_time: '1700000000000001000',
        table: 'sensor_msgs_msg_Imu',
        decode_errors: 0,
        out_of_order: 0,
        gaps: 0,
        median_period_ns: '1000',
        max_gap_ns: '1000',
        status: 'ok',
        reason: null,
      },
    ],
    tables: {
      sensor_msgs_msg_Imu: [
        {
          key: 'objects/tables/dd/dd.parquet',
          uri: 's3://derived/objects/tables/dd/dd.parquet',
          rows: 2,
          bytes: 900,
          sha256: 'd'.repeat(64),
          min_log_time: null,
          max_log_time: null,
        },
      ],
    },
    blobs: [],
  };
  return written;
}
