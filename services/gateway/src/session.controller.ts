import { SERVICE_CONFIG } from '@adseed/platform';
import type { SessionInfo } from '@adseed/contracts';
import { Controller, Get, HttpCode, Inject, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiErrors, ApiJson, ApiTenantHeader } from './api-docs';
import * as dto from './api.dtos';
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
@ApiTags('session')
@ApiTenantHeader()
export class SessionController {
  constructor(
    @Inject(SERVICE_CONFIG) private readonly env: GatewayEnv,
    private readonly sessions: SessionTokens,
  ) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({
    summary: 'Sign the web UI in: sets an HttpOnly session cookie for the key (images and event streams)',
    description:
      'Needs `Authorization: Bearer <key>`. With API keys configured, answers with `Set-Cookie: adseed_session=…; Path=/v1; HttpOnly; SameSite=Strict` (plus `Secure` over HTTPS), valid for `ADSEED_SESSION_TTL_SECONDS`. The cookie authenticates **reads only** (GET/HEAD: `<img>` and `EventSource`, which cannot send headers); every other method still needs the bearer key, so a cross-site request can change nothing. It ends when its key is removed or changed. Without keys, nothing is set.',
  })
  @ApiJson(200, dto.SessionResponse, 'Signed in (the cookie is set when keys are configured).')
  @ApiErrors()
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
  @ApiOperation({ summary: 'Who the caller is (key, session cookie, or the local admin without keys)' })
  @ApiJson(200, dto.SessionResponse, 'The caller.')
  @ApiErrors()
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
