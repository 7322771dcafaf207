import helmet from 'helmet';
import type { RequestHandler } from 'express';

/**
 * Security headers on every response, UI and API alike (helmet). The web UI and Swagger UI load
 * only same-origin scripts and styles (no inline script or style attribute in their HTML; style
 * set from JavaScript via the CSSOM is not affected by CSP), images from the gateway or as data:
 * URIs (Swagger's icons), and talk only to the gateway (fetch, EventSource). No framing at all.
 * `upgrade-insecure-requests` is left out: adseed is often served over plain HTTP inside a
 * cluster or on a laptop, where upgrading would break every image and call.
 */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'self'"],
        'base-uri': ["'self'"],
        'script-src': ["'self'"],
        'script-src-attr': ["'none'"],
        'style-src': ["'self'"],
        'img-src': ["'self'", 'data:', 'blob:'],
        'font-src': ["'self'", 'data:'],
        'connect-src': ["'self'"],
        'form-action': ["'self'"],
        'frame-ancestors': ["'none'"],
        'object-src': ["'none'"],
      },
    },
    // frame-ancestors above is the modern control; X-Frame-Options for browsers that predate it.
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  }) as RequestHandler;
}
