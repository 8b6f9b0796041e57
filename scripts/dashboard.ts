/**
 * Generates deploy/grafana/mcapflow.json, the Grafana dashboard of mcapflow, from code
 * (@grafana/grafana-foundation-sdk). Run `npm run dashboard` after changing it; a test keeps
 * the committed JSON equal to this output, and another evaluates every panel's PromQL
 * against a real Prometheus scraping a real pipeline.
 *
 *   tsx scripts/dashboard.ts          write the file
 *   tsx scripts/dashboard.ts --check  exit 1 when the file differs
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import {
  BigValueColorMode,
  BigValueGraphMode,
  LegendDisplayMode,
  LegendPlacement,
  ReduceDataOptionsBuilder,
  StackingConfigBuilder,
  StackingMode,
  VizLegendOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import {
  AnnotationQueryBuilder,
  DashboardBuilder,
  DashboardCursorSync,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
  type Dashboard,
  type Panel,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

export const DASHBOARD_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', 'deploy', 'grafana', 'mcapflow.json');

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };
/** Every selector filters on the scrape job(s) chosen in the dashboard. */
const JOB = 'job=~"$job"';
const RATE = '[$__rate_interval]';

function sel(metric: string, matchers = ''): string {
  return `${metric}{${JOB}${matchers ? `,${matchers}` : ''}}`;
}

function rate(metric: string, matchers = ''): string {
  return `rate(${sel(metric, matchers)}${RATE})`;
}

function quantile(q: number, metric: string, by: string[] = []): string {
  return `histogram_quantile(${q}, sum by (${['le', ...by].join(', ')}) (${rate(`${metric}_bucket`)}))`;
}

interface Query {
  expr: string;
  legend: string;
}

interface PanelSpec {
  kind: 'timeseries' | 'stat';
  title: string;
  description: string;
  unit: string;
  queries: Query[];
  width?: number;
  stacked?: boolean;
  max?: number;
  /** Stat panels: value at which the panel turns red. */
  redFrom?: number;
}

interface RowSpec {
  title: string;
  panels: PanelSpec[];
}

const ts = (title: string, description: string, unit: string, queries: Query[], extra: Partial<PanelSpec> = {}): PanelSpec => ({
  kind: 'timeseries',
  title,
  description,
  unit,
  queries,
  ...extra,
});
const stat = (title: string, description: string, unit: string, queries: Query[], extra: Partial<PanelSpec> = {}): PanelSpec => ({
  kind: 'stat',
  title,
  description,
  unit,
  queries,
  ...extra,
});

/** The panels, row by row. Every expression here is evaluated against a real Prometheus in the tests. */
export const ROWS: RowSpec[] = [
  {
    title: 'Throughput',
    panels: [
      stat(
        'Recordings committed',
        'Recordings whose manifest was written in the selected time range.',
        'short',
        [{ expr: `sum(increase(${sel('mcapflow_recordings_total', 'outcome="committed"')}[$__range]))`, legend: 'committed' }],
        { width: 4 },
      ),
      ts(
        'Recordings finished / s',
        'Recordings reaching an end, by outcome. recovered recordings are also counted as committed.',
        'ops',
        [{ expr: `sum by (outcome) (${rate('mcapflow_recordings_total')})`, legend: '{{outcome}}' }],
        { width: 10 },
      ),
      ts(
        'Jobs completed / s',
        'Completed jobs by queue.',
        'ops',
        [{ expr: `sum by (queue) (${rate('mcapflow_jobs_total', 'outcome="completed"')})`, legend: '{{queue}}' }],
        { width: 10 },
      ),
      ts(
        'Messages / s by operator',
        'index: messages indexed; extract: messages decoded into schema tables; convert: rows written to Parquet.',
        'short',
        [{ expr: `sum by (operator) (${rate('mcapflow_messages_total')})`, legend: '{{operator}}' }],
        { width: 12 },
      ),
      ts(
        'Job duration p95 by queue',
        'Wall time of one job run (an attempt, or one step of a commit).',
        's',
        [{ expr: quantile(0.95, 'mcapflow_job_duration_seconds', ['queue']), legend: '{{queue}}' }],
        { width: 12 },
      ),
    ],
  },
  {
    title: 'Ingest lag',
    panels: [
      ts(
        'Ingest lag: object created → committed',
        'Time from the object-created event to the manifest write, over recordings committed in each interval.',
        's',
        [
          { expr: quantile(0.5, 'mcapflow_ingest_lag_seconds'), legend: 'p50' },
          { expr: quantile(0.95, 'mcapflow_ingest_lag_seconds'), legend: 'p95' },
          { expr: quantile(0.99, 'mcapflow_ingest_lag_seconds'), legend: 'p99' },
        ],
        { width: 24 },
      ),
    ],
  },
  {
    title: 'Queues',
    panels: [
      ts(
        'Jobs by state (all queues)',
        'Jobs in the pipeline queues by BullMQ state. Every process reports the same shared queues, hence max across processes.',
        'short',
        [
          {
            expr: `sum by (state) (max by (queue, state) (${sel('mcapflow_queue_jobs', 'state=~"waiting|prioritized|delayed|active|waiting-children"')}))`,
            legend: '{{state}}',
          },
        ],
        { width: 12, stacked: true },
      ),
      ts(
        'Jobs waiting by queue',
        'Jobs ready to run but not started (waiting, prioritized) or backing off before a retry (delayed).',
        'short',
        [{ expr: `sum by (queue) (max by (queue, state) (${sel('mcapflow_queue_jobs', 'state=~"waiting|prioritized|delayed"')}))`, legend: '{{queue}}' }],
        { width: 12, stacked: true },
      ),
    ],
  },
  {
    title: 'Failures and dead letters',
    panels: [
      stat(
        'Dead-letter entries',
        'Jobs that exhausted their attempts and wait in the DLQ for a retry or discard (mcapflow dlq / admin API).',
        'short',
        [{ expr: `max(${sel('mcapflow_dlq_jobs')})`, legend: 'DLQ' }],
        { width: 4, redFrom: 1 },
      ),
      ts(
        'Job failures / s',
        'retried: an attempt failed and will be retried; failed: no attempts left; dlq: filed in the dead-letter queue.',
        'ops',
        [{ expr: `sum by (queue, outcome) (${rate('mcapflow_jobs_total', 'outcome=~"retried|failed|dlq"')})`, legend: '{{queue}} {{outcome}}' }],
        { width: 10 },
      ),
      ts(
        'Quarantined and recovered recordings / s',
        'quarantined: input that can never be processed (see the reason in the recording status); recovered: committed with damaged chunks skipped.',
        'ops',
        [{ expr: `sum by (outcome) (${rate('mcapflow_recordings_total', 'outcome=~"quarantined|recovered"')})`, legend: '{{outcome}}' }],
        { width: 10 },
      ),
    ],
  },
  {
    title: 'Workers',
    panels: [
      ts(
        'Worker utilisation by queue',
        'Busy job slots / all job slots, over the interval (1 = every slot busy all the time).',
        'percentunit',
        [
          {
            expr: `sum by (queue) (${rate('mcapflow_worker_busy_seconds_total')}) / (sum by (queue) (${sel('mcapflow_worker_concurrency')}) > 0)`,
            legend: '{{queue}}',
          },
        ],
        { width: 12, max: 1 },
      ),
      ts(
        'Jobs running and job slots',
        'Jobs running now by queue, and the job slots of all processes.',
        'short',
        [
          { expr: `sum by (queue) (${sel('mcapflow_worker_active_jobs')})`, legend: '{{queue}} running' },
          { expr: `sum(${sel('mcapflow_worker_concurrency')})`, legend: 'slots' },
        ],
        { width: 12 },
      ),
      ts(
        'Process CPU',
        'CPU seconds per second of each mcapflow process.',
        'percentunit',
        [{ expr: `sum by (instance) (${rate('process_cpu_seconds_total')})`, legend: '{{instance}}' }],
        { width: 12 },
      ),
      ts(
        'Process resident memory',
        'Resident set size of each mcapflow process.',
        'bytes',
        [{ expr: `sum by (instance) (${sel('process_resident_memory_bytes')})`, legend: '{{instance}}' }],
        { width: 12 },
      ),
    ],
  },
  {
    title: 'Storage I/O',
    panels: [
      ts(
        'Bytes read / s by purpose',
        'plan: head, footer and summary; scan: whole-file scans; span: chunk spans; derived: plans, parts, manifests; cache: query cache fills.',
        'Bps',
        [{ expr: `sum by (purpose) (${rate('mcapflow_bytes_read_total')})`, legend: '{{purpose}}' }],
        { width: 8, stacked: true },
      ),
      ts(
        'Bytes written / s',
        'Plans, Arrow parts, blob packs, Parquet tables, manifests and uploads.',
        'Bps',
        [{ expr: `sum(${rate('mcapflow_bytes_written_total')})`, legend: 'written' }],
        { width: 8 },
      ),
      ts(
        'Scan amplification (bytes read / bytes needed)',
        'Bytes read from recordings per byte the readers parsed. 1 is ideal; span reads also fetch the message indexes between chunks, planning reads a tail block.',
        'x',
        [
          {
            expr: `sum by (purpose) (${rate('mcapflow_bytes_read_total', 'purpose=~"plan|scan|span"')}) / (sum by (purpose) (${rate('mcapflow_bytes_needed_total')}) > 0)`,
            legend: '{{purpose}}',
          },
          {
            expr: `sum(${rate('mcapflow_bytes_read_total', 'purpose=~"plan|scan|span"')}) / (sum(${rate('mcapflow_bytes_needed_total')}) > 0)`,
            legend: 'all recording reads',
          },
        ],
        { width: 8 },
      ),
    ],
  },
  {
    title: 'S3',
    panels: [
      ts(
        'S3 requests / s',
        "Object-storage requests by operation and status, after the SDK's own retries. not_found is an answer (e.g. no manifest yet), not a failure.",
        'reqps',
        [{ expr: `sum by (op, status) (${rate('mcapflow_s3_requests_total')})`, legend: '{{op}} {{status}}' }],
        { width: 12 },
      ),
      ts(
        'S3 error ratio by operation',
        "Share of requests that failed after the SDK's retries; jobs retry them in turn.",
        'percentunit',
        [
          {
            expr: `sum by (op) (${rate('mcapflow_s3_requests_total', 'status="error"')}) / (sum by (op) (${rate('mcapflow_s3_requests_total')}) > 0)`,
            legend: '{{op}}',
          },
        ],
        { width: 12, max: 1 },
      ),
    ],
  },
  {
    title: 'Caches',
    panels: [
      ts(
        'Cache hit ratio',
        "plan: the workers' cache of recording plans; object: the query layer's local copies of derived objects.",
        'percentunit',
        [
          {
            expr: `sum by (cache) (${rate('mcapflow_cache_requests_total', 'result="hit"')}) / (sum by (cache) (${rate('mcapflow_cache_requests_total')}) > 0)`,
            legend: '{{cache}}',
          },
        ],
        { width: 12, max: 1 },
      ),
      ts(
        'Cache lookups / s',
        'Lookups by cache and result.',
        'ops',
        [{ expr: `sum by (cache, result) (${rate('mcapflow_cache_requests_total')})`, legend: '{{cache}} {{result}}' }],
        { width: 12 },
      ),
    ],
  },
];

const PANEL_HEIGHT = 8;

function target(query: Query, index: number): DataqueryBuilder {
  return new DataqueryBuilder()
    .datasource(DATASOURCE)
    .expr(query.expr)
    .legendFormat(query.legend)
    .refId(String.fromCharCode(65 + index));
}

function panel(spec: PanelSpec, id: number, x: number, y: number): cog.Builder<Panel> {
  const width = spec.width ?? 12;
  const gridPos = { h: PANEL_HEIGHT, w: width, x, y };
  if (spec.kind === 'stat') {
    const builder = new StatPanelBuilder()
      .id(id)
      .title(spec.title)
      .description(spec.description)
      .datasource(DATASOURCE)
      .unit(spec.unit)
      .gridPos(gridPos)
      .graphMode(BigValueGraphMode.Area)
      .colorMode(spec.redFrom === undefined ? BigValueColorMode.Value : BigValueColorMode.Background)
      .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
      .thresholds(
        new ThresholdsConfigBuilder()
          .mode(ThresholdsMode.Absolute)
          .steps([{ value: null, color: 'green' }, ...(spec.redFrom === undefined ? [] : [{ value: spec.redFrom, color: 'red' }])]),
      );
    spec.queries.forEach((q, i) => builder.withTarget(target(q, i)));
    return builder;
  }
  const builder = new TimeseriesPanelBuilder()
    .id(id)
    .title(spec.title)
    .description(spec.description)
    .datasource(DATASOURCE)
    .unit(spec.unit)
    .min(0)
    .gridPos(gridPos)
    .fillOpacity(spec.stacked ? 30 : 10)
    .legend(new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom).calcs([]))
    .stacking(new StackingConfigBuilder().mode(spec.stacked ? StackingMode.Normal : StackingMode.None));
  if (spec.max !== undefined) builder.max(spec.max);
  spec.queries.forEach((q, i) => builder.withTarget(target(q, i)));
  return builder;
}

export function buildDashboard(): Dashboard {
  const builder = new DashboardBuilder('mcapflow')
    .uid('mcapflow')
    .description(
      'mcapflow: MCAP recordings in S3 → Parquet tables. Throughput, ingest lag, queues, failures, workers, storage I/O, S3 and caches. Generated by scripts/dashboard.ts.',
    )
    .tags(['mcapflow', 'bullmq'])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh('30s')
    .time({ from: 'now-3h', to: 'now' })
    .timezone('browser')
    .annotation(
      new AnnotationQueryBuilder()
        .name('Annotations & Alerts')
        .datasource({ type: 'grafana', uid: '-- Grafana --' })
        .builtIn(1)
        .enable(true)
        .hide(true)
        .iconColor('rgba(0, 211, 255, 1)')
        .type('dashboard'),
    )
    .withVariable(new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'))
    .withVariable(
      new QueryVariableBuilder('job')
        .label('Job')
        .description('Prometheus scrape job(s) of the mcapflow processes.')
        .datasource(DATASOURCE)
        .query({ query: 'label_values(mcapflow_jobs_total, job)', refId: 'PrometheusVariableQueryEditor-VariableQuery' })
        .definition('label_values(mcapflow_jobs_total, job)')
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true)
        .allValue('.+')
        .current({ selected: true, text: ['All'], value: ['$__all'] }),
    );
  let id = 1;
  let y = 0;
  for (const row of ROWS) {
    builder.withRow(new RowBuilder(row.title).id(id++).gridPos({ h: 1, w: 24, x: 0, y }));
    y += 1;
    let x = 0;
    for (const spec of row.panels) {
      const width = spec.width ?? 12;
      if (x + width > 24) {
        x = 0;
        y += PANEL_HEIGHT;
      }
      builder.withPanel(panel(spec, id++, x, y));
      x += width;
    }
    y += PANEL_HEIGHT;
  }
  return builder.build();
}

/** The file's exact text: pretty JSON with a final newline. */
export function dashboardJson(): string {
  return `${JSON.stringify(buildDashboard(), null, 2)}\n`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const text = dashboardJson();
  if (process.argv.includes('--check')) {
    const current = readFileSync(DASHBOARD_PATH, 'utf8');
    if (current !== text) {
      console.error(`${DASHBOARD_PATH} is out of date: run npm run dashboard`);
      process.exit(1);
    }
    console.error(`${DASHBOARD_PATH} is up to date`);
  } else {
    writeFileSync(DASHBOARD_PATH, text);
    console.error(`wrote ${DASHBOARD_PATH}`);
  }
}
