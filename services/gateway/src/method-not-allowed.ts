import type { ErrorBody } from '@adseed/contracts';
import { requestIdOf } from '@adseed/platform';
import type { OpenAPIObject } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';

const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/**
 * 405 with an `Allow` header for a method the OpenAPI document does not declare on a path it does
 * declare (Express alone answers 404, as if the path did not exist). The routes come from the same
 * document the gateway serves.
 */
export function methodNotAllowed(document: OpenAPIObject): (req: Request, res: Response, next: NextFunction) => void {
  const routes = Object.entries(document.paths ?? {}).map(([template, item]) => {
    const methods = Object.keys(item ?? {})
      .filter((m) => METHODS.has(m))
      .map((m) => m.toUpperCase());
    if (methods.includes('GET')) methods.push('HEAD');
    const pattern = new RegExp(
      `^${template
        .split(/\{[^}]+\}/)
        .map(escapeRegExp)
        .join('[^/]+')}/?$`,
    );
    return { pattern, methods, parameters: template.split('{').length - 1 };
  });
  // The most literal template first: `/v1/assets/content` is not the asset with id "content".
  routes.sort((a, b) => a.parameters - b.parameters);
  return (req, res, next) => {
    const route = routes.find((r) => r.pattern.test(req.path));
    if (!route || route.methods.includes(req.method)) return next();
    const allowed = route.methods;
    const body: ErrorBody = {
      error: {
        status: 405,
        code: 'method_not_allowed',
        message: `${req.method} is not allowed on ${req.path}: use ${allowed.join(', ')}`,
        issues: [{ field: 'method', reason: `one of ${allowed.join(', ')}` }],
        requestId: requestIdOf(req, res),
      },
    };
    res.setHeader('Allow', allowed.join(', '));
    res.status(405).json(body);
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
