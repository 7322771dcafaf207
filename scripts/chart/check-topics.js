'use strict';
// The chart's table of consumed topics (charts/adseed/templates/_topics.tpl) must match the code:
// every topic it names exists in libs/contracts with the same built-in partitions, and each
// service's consumer group is the one its module declares. The replicas <= partitions guard and
// the KEDA trigger are only as right as this table. Needs `npm run build` (libs/contracts/dist).
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
const defined = new Map();
for (const group of [contracts.AssetTopics, contracts.ConversationTopics, contracts.StorageTopics]) {
  for (const topic of Object.values(group)) defined.set(topic.name, topic.partitions);
}
for (const route of Object.values(contracts.ServiceRoutes)) defined.set(route.request.name, route.request.partitions);

const groupConstant = { embedding: 'EMBEDDING_GROUP', retrieval: 'RETRIEVAL_GROUP', agent: 'AGENT_GROUP', generation: 'GENERATION_GROUP' };
let problems = 0;
let checked = 0;
for (const [service, { group, topics }] of Object.entries(table)) {
  const source = fs.readFileSync(path.join(repo, `services/${service}/src/${service}.module.ts`), 'utf8');
  const declared = new RegExp(`export const ${groupConstant[service]} = '([^']+)'`).exec(source)?.[1];
  if (declared !== group) {
    console.log(`  ${service}: the chart says consumer group ${group}, ${service}.module.ts says ${declared}`);
    problems++;
  }
  for (const [topic, partitions] of Object.entries(topics)) {
    checked++;
    if (!defined.has(topic)) {
      console.log(`  ${service}: ${topic} is not a topic of libs/contracts`);
      problems++;
    } else if (defined.get(topic) !== partitions) {
      console.log(`  ${service}: ${topic} has ${defined.get(topic)} partitions in libs/contracts, ${partitions} in the chart`);
      problems++;
    }
  }
}
console.log(`  ${checked - problems} of ${checked} consumed topics match libs/contracts`);
process.exit(problems ? 1 : 0);
