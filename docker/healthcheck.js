'use strict';
// Container HEALTHCHECK for adseed services: exits 0 when GET /healthz answers 200 within the
// timeout. The slim base image has no curl, and node is there anyway.
const http = require('node:http');

const port = Number(process.env.PORT || 8080);
const timeoutMs = Number(process.env.HEALTHCHECK_TIMEOUT_MS || 4000);

const request = http.get({ host: '127.0.0.1', port, path: '/healthz', timeout: timeoutMs }, (res) => {
  res.resume();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
request.on('timeout', () => {
  request.destroy();
  process.exit(1);
});
request.on('error', () => process.exit(1));
