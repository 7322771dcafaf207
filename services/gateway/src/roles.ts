import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import type { Role } from './gateway.env';

export type { Role } from './gateway.env';

/** Who is calling: the tenant, the role, and the name recorded on decisions and in the audit log. */
export interface Principal {
  tenant: string;
  role: Role;
  /** The key's name (`ADSEED_API_KEYS`), or `local` when no keys are configured. */
  actor: string;
}

/** How the caller proved who it is: a bearer key (by fingerprint), the web UI's session cookie, or nothing (no keys configured). */
export type Credential = { kind: 'key'; fingerprint: string } | { kind: 'session'; fingerprint: string; expires: number } | { kind: 'none' };

export type PrincipalRequest = Request & { tenant?: string; principal?: Principal; credential?: Credential };

export const ROLES_KEY = 'adseed:roles';
const RANK: Record<Role, number> = { marketer: 0, reviewer: 1, admin: 2 };

/** The least role a route needs; roles are ordered marketer < reviewer < admin. */
export const Roles = (least: Role) => SetMetadata(ROLES_KEY, least);

export const hasRole = (principal: Principal, least: Role): boolean => RANK[principal.role] >= RANK[least];

export const CurrentPrincipal = createParamDecorator((_: unknown, context: ExecutionContext): Principal => {
  const principal = context.switchToHttp().getRequest<PrincipalRequest>().principal;
  if (!principal) throw new Error('TenantGuard did not run');
  return principal;
});
