'use strict';
// The chart's table of consumed topics (charts/adseed/templates/_topics.tpl) must match the code:
// for each service, the topics it subscribes to in shared consumer
// groups, each group's name, and each topic's built-in partitions in libs/contracts. The
// replicas <= partitions guard and the KEDA triggers are only as right as this table.
// Needs `npm run build` (libs/contracts/dist).
const fs = require('node:fs');
const path = require('node:path');
const YAML = require('yaml');

const repo = path.resolve(__dirname, '../..');
const template = fs.readFileSync(path.join(repo, 'charts/adseed/templates/_topics.tpl'), 'utf8');
const block = /\{\{- define "adseed\.consumedTopics" -\}\}\n([\s\S]*?)\{\{- end -\}\}/.exec(template);
if (!block) {
  console.log('  no adseed.consumedTopics block in _topics.tpl');
  process.exit(1);
}
const table = YAML.parse(block[1]);
const contracts = require(path.join(repo, 'libs/contracts/dist'));

/** `AssetTopics.indexed` -> the topic definition. */
const topicOf = (holder, key) => {
  const def = contracts[holder]?.[key];
  return def?.request ?? def;
};

/** What a service's code consumes in shared groups: topic name -> group (per-instance groups skipped). */
function consumedInCode(service) {
  const dir = path.join(repo, 'services', service, 'src');
  const files = fs.readdirSync(dir, { recursive: true }).filter((f) => f.endsWith('.ts') && !/\.(spec|bench)\.ts$/.test(f) && !f.includes('integration'));
  const constants = {};
  const calls = [];
  for (const file of files) {
    const source = fs.readFileSync(path.join(dir, file), 'utf8');
    for (const [, name, value] of source.matchAll(/export const (\w+_GROUP) = '([^']+)'/g)) constants[name] = value;
    for (const [, holder, key, group] of source.matchAll(/\.(?:subscribe|respond)\((\w+)\.(\w+),\s*\{\s*group:\s*(`[^`]*`|\w+)/g))
      calls.push({ holder, key, group: group.trim() });
  }
  const consumed = new Map();
  for (const { holder, key, group } of calls) {
    // a group per instance (random, or replicaGroup: named after the replica): every replica reads all partitions
    if (group.includes('randomUUID') || group === 'replicaGroup') continue;
    const topic = topicOf(holder, key);
    if (!topic) throw new Error(`${service}: ${holder}.${key} is not a topic of libs/contracts`);
    const name = group.startsWith('`') ? group.slice(1, -1).replace(/\$\{(\w+)\}/g, (_, c) => constants[c] ?? `?${c}`) : (constants[group] ?? `?${group}`);
    consumed.set(topic.name, { group: name, partitions: topic.partitions });
  }
  return consumed;
}

let problems = 0;
let checked = 0;
const services = fs.readdirSync(path.join(repo, 'services')).filter((s) => fs.existsSync(path.join(repo, 'services', s, 'src', `${s}.module.ts`)));
for (const service of services) {
  const code = consumedInCode(service);
  const chart = new Map();
  for (const [group, topics] of Object.entries(table[service] ?? {})) {
    for (const [topic, partitions] of Object.entries(topics)) chart.set(topic, { group, partitions });
  }
  for (const [topic, expected] of code) {
    checked++;
    const listed = chart.get(topic);
    if (!listed) {
      console.log(`  ${service} consumes ${topic} in group ${expected.group}, which the chart's table does not list`);
      problems++;
    } else if (listed.group !== expected.group || listed.partitions !== expected.partitions) {
      console.log(
        `  ${service}: ${topic} is group ${expected.group} with ${expected.partitions} partitions in the code, group ${listed.group} with ${listed.partitions} in the chart`,
      );
      problems++;
    }
  }
  for (const topic of chart.keys()) {
    if (!code.has(topic)) {
      console.log(`  ${service}: the chart lists ${topic}, which the code does not consume`);
      problems++;
    }
  }
}
console.log(`  ${checked - problems} of ${checked} consumed topics match the code (${services.join(', ')})`);
process.exit(problems ? 1 : 0);
