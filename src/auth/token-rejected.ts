/**
 * Why a token was refused; logged (never sent: the client always gets one generic message). In its own
 * module so the authenticator can recognise it without loading the JWT verifier (and jose) when no JWT
 * auth is configured.
 */
export class TokenRejected extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'TokenRejected';
  }
}
