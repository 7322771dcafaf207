'use strict';
// Validates the custom resources that manifests.py handed on (ServiceMonitor, ScaledObject,
// TriggerAuthentication) against the CRD schemas shipped in the npm packages
// @kubernetes-models/prometheus-operator and @kubernetes-models/keda.
// Like the API server, those schemas accept unknown fields (the server prunes them), so this
// catches wrong types, missing required fields and malformed values, not misspelt keys.
// Usage: node validate-crds.js <custom-resources.json> <node_modules dir holding the package>
const fs = require('node:fs');
const path = require('node:path');

const [file, modulesDir] = process.argv.slice(2);
if (!file || !modulesDir) {
  console.error('usage: node validate-crds.js <custom-resources.json> <node_modules dir>');
  process.exit(2);
}
const pkg = path.resolve(modulesDir, '@kubernetes-models/prometheus-operator');
const keda = path.resolve(modulesDir, '@kubernetes-models/keda');
const models = {
  'monitoring.coreos.com/v1/ServiceMonitor': require(path.join(pkg, 'monitoring.coreos.com/v1/ServiceMonitor')).ServiceMonitor,
  'keda.sh/v1alpha1/ScaledObject': require(path.join(keda, 'keda.sh/v1alpha1/ScaledObject')).ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': require(path.join(keda, 'keda.sh/v1alpha1/TriggerAuthentication')).TriggerAuthentication,
};

let problems = 0;
const docs = JSON.parse(fs.readFileSync(file, 'utf8'));
for (const doc of docs) {
  const id = `${doc.kind}/${doc.metadata && doc.metadata.name}`;
  const Model = models[`${doc.apiVersion}/${doc.kind}`];
  if (!Model) {
    console.log(`  ${id}: no schema known for ${doc.apiVersion} ${doc.kind}: add its model to validate-crds.js`);
    problems++;
    continue;
  }
  try {
    new Model(doc).validate();
  } catch (err) {
    console.log(`  ${id}: ${err.message}`);
    problems++;
  }
}
console.log(`  ${docs.length - problems} of ${docs.length} custom resources valid against their CRD schemas`);
process.exit(problems ? 1 : 0);
