/** Messages between the admin process and a query sandbox process (sandbox-process.ts). */
import type { ErrorCode } from '../errors.ts';
import type { EngineSettings, LoadedCatalog, Sandbox } from './query-engine.ts';

/** One statement to run; the sandbox runs one at a time. */
export interface SandboxRequest {
  id: number;
  sql: string;
  catalog: LoadedCatalog;
  /**
   * The catalog's `recordings` and `topics` rows were left out (sent empty): the sandbox's open
   * engine is of this catalog version already. A sandbox without one answers `needsRows`.
   */
  rowsOmitted?: boolean;
  settings: EngineSettings;
  sandbox: Sandbox;
}

/** `reused`: answered by the engine of an earlier statement (same catalog version). */
export type SandboxReply =
  { id: number; ok: true; json: string; reused: boolean } | { id: number; ok: false; code: ErrorCode; message: string; needsRows?: boolean };

/** Sent once the sandbox has loaded DuckDB and listens for requests. */
export interface SandboxReady {
  ready: true;
}
