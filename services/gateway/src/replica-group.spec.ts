import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { replicaGroup } from './replica-group';

describe(replicaGroup.name, () => {
  it('names the group after the replica: the same host and pid give the same name, another host or pid another one', () => {
    // two processes (a restarted container keeps its pod name and pid)
    assert.equal(replicaGroup('gateway-ads', { host: 'adseed-gateway-7c9f-x2k4q', pid: 1 }), 'gateway-ads-adseed-gateway-7c9f-x2k4q-1');
    assert.equal(replicaGroup('gateway-sse', { host: 'adseed-gateway-7c9f-x2k4q', pid: 1 }), 'gateway-sse-adseed-gateway-7c9f-x2k4q-1');
    assert.equal(replicaGroup('gateway-ads', { host: 'adseed-gateway-7c9f-p8m2z', pid: 1 }), 'gateway-ads-adseed-gateway-7c9f-p8m2z-1');
    assert.equal(replicaGroup('gateway-ads', { host: 'laptop.local', pid: 4242 }), 'gateway-ads-laptop.local-4242');
  });

  it('gives a second view with the same prefix in one process its own group', () => {
    const replica = { host: 'ci runner/3', pid: 77 };
    assert.equal(replicaGroup('gateway-job-sse', replica), 'gateway-job-sse-ci-runner-3-77');
    assert.equal(replicaGroup('gateway-job-sse', replica), 'gateway-job-sse-ci-runner-3-77-2');
  });
});
