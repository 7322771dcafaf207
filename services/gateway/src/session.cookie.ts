import type { PrincipalRequest } from './roles';
import { SESSION_COOKIE } from './session.tokens';

/** HTTPS as the browser saw it (directly, or at a proxy that says so). */
const overHttps = (request: PrincipalRequest): boolean => request.secure || request.header('x-forwarded-proto')?.split(',')[0]?.trim() === 'https';

/** The session cookie's `Set-Cookie` value (`Max-Age=0` clears it). */
export const sessionCookie = (request: PrincipalRequest, value: string, maxAge: number): string =>
  `${SESSION_COOKIE}=${value}; Path=/v1; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${overHttps(request) ? '; Secure' : ''}`;
