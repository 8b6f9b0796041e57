/**
 * Loading the registry: the built-ins plus the operators of the modules named in
 * MCAPFLOW_OPERATORS. A module exports operators as its default export or named exports,
 * each one operator or an array of them.
 */
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, describeError } from '../errors.ts';
import type { Operator } from '../sdk/operator.ts';
import { BUILTIN_OPERATORS } from './builtin/index.ts';
import { OperatorRegistry } from './registry.ts';

function looksLikeOperator(value: unknown): value is Operator {
  return typeof value === 'object' && value !== null && typeof (value as Operator).name === 'string' && typeof (value as Operator).inputs === 'object';
}

async function operatorsOf(path: string): Promise<Operator[]> {
  const url = pathToFileURL(isAbsolute(path) ? path : resolve(process.cwd(), path)).href;
  let module: Record<string, unknown>;
  try {
    module = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`MCAPFLOW_OPERATORS: cannot load ${path}: ${describeError(error)}`);
  }
  const found = Object.values(module)
    .flatMap((value) => (Array.isArray(value) ? value : [value]))
    .filter(looksLikeOperator);
  if (found.length === 0) throw new ConfigError(`MCAPFLOW_OPERATORS: ${path} exports no operator (export one, or an array, as default or named exports)`);
  return [...new Set(found)];
}

/** The registry every role of this process uses. */
export async function loadOperatorRegistry(modulePaths: readonly string[]): Promise<OperatorRegistry> {
  const user: Operator[] = [];
  for (const path of modulePaths) user.push(...(await operatorsOf(path)));
  return new OperatorRegistry([...BUILTIN_OPERATORS, ...user]);
}
