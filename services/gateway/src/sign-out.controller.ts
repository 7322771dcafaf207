import { Controller, Delete, HttpCode, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiErrors } from './api-docs';
import type { PrincipalRequest } from './roles';
import { sessionCookie } from './session.cookie';

/** Signing out needs no key: it only clears the cookie. */
@Controller('v1/session')
@ApiTags('session')
export class SignOutController {
  @Delete()
  @HttpCode(204)
  @ApiOperation({ summary: 'Sign out: clears the session cookie' })
  @ApiResponse({ status: 204, description: 'The cookie is cleared.' })
  @ApiErrors()
  end(@Req() request: PrincipalRequest, @Res({ passthrough: true }) res: Response): void {
    res.setHeader('Set-Cookie', sessionCookie(request, '', 0));
  }
}
