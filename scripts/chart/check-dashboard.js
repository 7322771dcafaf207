'use strict';
// Checks deploy/grafana/adseed-dashboard.json: valid JSON, unique panel ids, panels inside the
// 24-column grid, every query on a Prometheus data source, and every metric it queries is one the
// services emit (the agreed list below; histograms through _bucket/_sum/_count). Also requires
// each agreed metric to appear on the dashboard, so a new metric does not go unseen.
//   node scripts/chart/check-dashboard.js [dashboard.json]
const fs = require('node:fs');
const path = require('node:path');

const AGREED = {
  http_requests_total: 'counter',
  http_request_duration_seconds: 'histogram',
  adseed_kafka_consumer_lag: 'gauge',
  adseed_dlt_messages_total: 'counter',
  adseed_encoder_batch_size: 'histogram',
  adseed_encoder_latency_seconds: 'histogram',
  adseed_generation_duration_seconds: 'histogram',
  adseed_index_vectors: 'gauge',
};
const PROMQL_WORDS = new Set([
  'sum',
  'by',
  'without',
  'rate',
  'irate',
  'increase',
  'histogram_quantile',
  'topk',
  'bottomk',
  'avg',
  'max',
  'min',
  'count',
  'le',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'label_values',
  'offset',
]);

const file = process.argv[2] || path.resolve(__dirname, '..', '..', 'deploy', 'grafana', 'adseed-dashboard.json');
const problems = [];
const dashboard = JSON.parse(fs.readFileSync(file, 'utf8'));
const panels = (dashboard.panels || []).flatMap((p) => [p, ...(p.panels || [])]);
const ids = new Set();
const used = new Set();
for (const panel of panels) {
  if (ids.has(panel.id)) problems.push(`panel id ${panel.id} is used twice`);
  ids.add(panel.id);
  const { x, w } = panel.gridPos || {};
  if (!(x >= 0 && w > 0 && x + w <= 24)) problems.push(`panel "${panel.title}" is outside the 24-column grid`);
  for (const target of panel.targets || []) {
    if ((target.datasource || panel.datasource || {}).type !== 'prometheus')
      problems.push(`panel "${panel.title}" query ${target.refId} is not on a Prometheus data source`);
    // Names: identifiers not inside {...} label matchers, not followed by "(" (functions) and not PromQL words.
    const expr = target.expr
      .replace(/\{[^}]*\}/g, '{}')
      .replace(/\[[^\]]*\]/g, '[]')
      .replace(/"[^"]*"/g, '""');
    const byClauses = /\b(by|without|on|ignoring)\s*\([^)]*\)/g;
    for (const m of expr.replace(byClauses, '').matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)) {
      const name = m[1];
      if (PROMQL_WORDS.has(name) || /^[0-9]/.test(name)) continue;
      const base = name.replace(/_(bucket|sum|count)$/, '');
      if (AGREED[name] && AGREED[name] !== 'histogram') used.add(name);
      else if (AGREED[base] === 'histogram' && base !== name) used.add(base);
      else problems.push(`panel "${panel.title}" queries ${name}, which no service emits (agreed: ${Object.keys(AGREED).join(', ')})`);
    }
  }
}
for (const name of Object.keys(AGREED)) if (!used.has(name)) problems.push(`no panel shows ${name}`);
if (problems.length) {
  console.error(`${path.basename(file)}:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`${path.basename(file)}: ${panels.length} panels, all ${used.size} agreed metrics shown, no unknown metric`);
