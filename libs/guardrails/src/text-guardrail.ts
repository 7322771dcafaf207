import { ModerationUnavailableError, type TextCheck, type TextField, type TextFinding, type TextGuardrail, type TextVerdict } from './text-guardrail.port';

export interface CompositeTextGuardrailOptions {
  /** Cheap, offline checks: all of them run, every finding is reported. */
  local: readonly TextCheck[];
  /** A remote check, asked only when the local ones pass (it costs a round trip, maybe money). */
  remote?: TextCheck;
  /** When the remote check cannot answer: `true` lets the text through, `false` (default) fails closed. */
  failOpen?: boolean;
  /** Told when a fail-open let text through unchecked (never given the text). */
  onRemoteFailure?: (error: ModerationUnavailableError) => void;
}

/** Runs the offline checks, then (if they pass and one is configured) the moderation endpoint. */
export class CompositeTextGuardrail implements TextGuardrail {
  constructor(private readonly options: CompositeTextGuardrailOptions) {}

  async check(tenant: string, fields: readonly TextField[]): Promise<TextVerdict> {
    const present = fields.filter((f) => f.text.trim() !== '');
    if (present.length === 0) return { allowed: true };
    const local = (await Promise.all(this.options.local.map((c) => c.check(tenant, present)))).flat();
    if (local.length) return { allowed: false, findings: dedupe(local) };
    if (!this.options.remote) return { allowed: true };
    let remote: TextFinding[];
    try {
      remote = await this.options.remote.check(tenant, present);
    } catch (error) {
      if (!(error instanceof ModerationUnavailableError) || !this.options.failOpen) throw error;
      this.options.onRemoteFailure?.(error);
      return { allowed: true };
    }
    return remote.length ? { allowed: false, findings: dedupe(remote) } : { allowed: true };
  }
}

function dedupe(findings: TextFinding[]): TextFinding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.field}\0${f.category}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
