import type { SessionInfo } from '@adseed/contracts';
import { Controller, Delete, Get, HttpCode, Inject, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { Audited } from './audit.interceptor';
import { GATEWAY_ENV, type GatewayEnv } from './gateway.env';
import type { PrincipalRequest } from './roles';
import { SESSION_COOKIE, SessionTokens } from './session.tokens';
import { TenantGuard } from './tenant.guard';

/** HTTPS as the browser saw it (directly, or at a proxy that says so). */
const overHttps = (request: PrincipalRequest): boolean => request.secure || request.header('x-forwarded-proto')?.split(',')[0]?.trim() === 'https';

const cookie = (request: PrincipalRequest, value: string, maxAge: number): string =>
  `${SESSION_COOKIE}=${value}; Path=/v1; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${overHttps(request) ? '; Secure' : ''}`;

/**
 * The web UI's sign-in: `POST /v1/session` with the bearer key sets an HttpOnly, SameSite=Strict
 * cookie that the browser then sends with `<img>` and `EventSource` requests, which cannot carry
 * the header. The cookie authenticates reads only (see TenantGuard).
 */
@Controller('v1/session')
@UseGuards(TenantGuard)
export class SessionController {
  constructor(
    @Inject(GATEWAY_ENV) private readonly env: GatewayEnv,
    private readonly sessions: SessionTokens,
  ) {}

  @Post()
  @HttpCode(200)
  @Audited('session.started')
  start(@Req() request: PrincipalRequest, @Res({ passthrough: true }) res: Response): { session: SessionInfo } {
    const { principal, credential } = request;
    if (!principal || !credential) throw new Error('TenantGuard did not run');
    if (credential.kind !== 'key') return { session: { ...principal, via: 'none' } };
    const entry = { tenant: principal.tenant, role: principal.role, name: principal.actor };
    const { token, session } = this.sessions.issueFor(credential.fingerprint, entry);
    res.setHeader('Set-Cookie', cookie(request, token, this.env.ADSEED_SESSION_TTL_SECONDS));
    res.setHeader('Cache-Control', 'no-store');
    return { session: { ...principal, via: 'key', expiresAt: new Date(session.expires * 1000).toISOString() } };
  }

  @Get()
  whoami(@Req() request: PrincipalRequest): { session: SessionInfo } {
    const { principal, credential } = request;
    if (!principal || !credential) throw new Error('TenantGuard did not run');
    return { session: { ...principal, via: credential.kind, ...(credential.kind === 'session' ? { expiresAt: new Date(credential.expires * 1000).toISOString() } : {}) } };
  }
}

/** Signing out needs no key: it only clears the cookie. */
@Controller('v1/session')
export class SignOutController {
  @Delete()
  @HttpCode(204)
  end(@Req() request: PrincipalRequest, @Res({ passthrough: true }) res: Response): void {
    res.setHeader('Set-Cookie', cookie(request, '', 0));
  }
}
