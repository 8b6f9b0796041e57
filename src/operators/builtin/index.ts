/** The operators mcapflow ships with, written with the same SDK as user operators. */
import type { Operator } from '../../sdk/operator.ts';
import { attachmentsOperator, metadataOperator } from './attachments.ts';
import { chunkIndexOperator } from './chunk-index.ts';
import { messagesOperator } from './messages.ts';
import { odometryEventsOperator } from './odometry-events.ts';
import { schemaTablesOperator } from './schema-tables.ts';
import { imuWindowsOperator } from './window-features.ts';

export const BUILTIN_OPERATORS: readonly Operator[] = [
  messagesOperator,
  chunkIndexOperator,
  schemaTablesOperator,
  attachmentsOperator,
  metadataOperator,
  odometryEventsOperator,
  imuWindowsOperator,
];
