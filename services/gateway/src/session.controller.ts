import { SERVICE_CONFIG } from '@adseed/platform';
import type { SessionInfo } from '@adseed/contracts';
import { Controller, Get, HttpCode, Inject, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { Audited } from './audit.interceptor';
import type { GatewayEnv } from './gateway.env';
import type { PrincipalRequest } from './roles';
import { sessionCookie } from './session.cookie';
import { SessionTokens } from './session.tokens';
import { TenantGuard } from './tenant.guard';

/**
 * The web UI's sign-in: `POST /v1/session` with the bearer key sets an HttpOnly, SameSite=Strict
 * cookie that the browser then sends with `<img>` and `EventSource` requests, which cannot carry
 * the header. The cookie authenticates reads only (see TenantGuard).
 */
@Controller('v1/session')
@UseGuards(TenantGuard)
export class SessionController {
  constructor(
    @Inject(SERVICE_CONFIG) private readonly env: GatewayEnv,
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
    res.setHeader('Set-Cookie', sessionCookie(request, token, this.env.ADSEED_SESSION_TTL_SECONDS));
    res.setHeader('Cache-Control', 'no-store');
    return { session: { ...principal, via: 'key', expiresAt: new Date(session.expires * 1000).toISOString() } };
  }

  @Get()
  whoami(@Req() request: PrincipalRequest): { session: SessionInfo } {
    const { principal, credential } = request;
    if (!principal || !credential) throw new Error('TenantGuard did not run');
    return {
      session: {
        ...principal,
        via: credential.kind,
        ...(credential.kind === 'session' ? { expiresAt: new Date(credential.expires * 1000).toISOString() } : {}),
      },
    };
  }
}
