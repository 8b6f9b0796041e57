/** Why a schema gets no table: errors thrown while planning its columns or compiling its decoder. */

/** A schema that cannot be turned into columns; the message says why. */
export class SchemaPlanError extends Error {}

/** A schema past one of SCHEMA_LIMITS (schema-limits.ts); the message names the limit. */
export class SchemaTooComplexError extends SchemaPlanError {}
