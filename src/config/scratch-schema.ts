import { type Static, Type } from '@sinclair/typebox';

/**
 * `backends.<name>.scratch` (SQLite only): sessions opened with `"scratch": true` get a fresh private
 * `:memory:` database of their own, gone when the session ends. Off unless `enabled`, and only for the
 * principals listed (docs/configuration.md, "Scratch databases").
 */
export const ScratchConfigSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: false, description: 'Allow scratch sessions on this SQLite backend.' }),
    principals: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description:
        'Principal ids allowed to open scratch sessions ("key:<name>" for an API key, "jwt:<sub>" for a JWT ' +
        'subject, "anonymous" without auth); "*" = every principal that may use the backend.',
    }),
    maxSessions: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 8,
      description: 'Scratch sessions open at once on this backend (each is one worker thread).',
    }),
    maxSizeMb: Type.Integer({
      minimum: 1,
      maximum: 4096,
      default: 64,
      description: 'Largest a scratch database may grow (its pages live in memory); beyond it, SQLITE_FULL.',
    }),
  },
  { additionalProperties: false },
);

export type ScratchConfig = Static<typeof ScratchConfigSchema>;
