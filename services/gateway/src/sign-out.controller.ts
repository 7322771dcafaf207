import { Controller, Delete, HttpCode, Req, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { PrincipalRequest } from './roles';
import { sessionCookie } from './session.cookie';

/** Signing out needs no key: it only clears the cookie. */
@Controller('v1/session')
export class SignOutController {
  @Delete()
  @HttpCode(204)
  end(@Req() request: PrincipalRequest, @Res({ passthrough: true }) res: Response): void {
    res.setHeader('Set-Cookie', sessionCookie(request, '', 0));
  }
}
