/**
 * Which database a request is for, read from the resource name it carries. Only the routing prefix is checked
 * here; the engine validates the rest of every name.
 */
import { Code, RpcError } from '../engine/api';

export interface DatabaseRef {
  projectId: string;
  databaseId: string;
}

const DATABASE_NAME = /^projects\/([^/]+)\/databases\/([^/]+)$/;
const UNDER_DATABASE = /^projects\/([^/]+)\/databases\/([^/]+)\/documents(?:\/|$)/;

/** `field` holds exactly `projects/{project}/databases/{database}`. */
export function databaseFromName(name: string | null | undefined, field: string): DatabaseRef {
  const match = DATABASE_NAME.exec(name ?? '');
  if (!match) throw invalidName(name, field, 'projects/{project_id}/databases/{database_id}');
  return { projectId: match[1], databaseId: match[2] };
}

/** `field` holds a name under `projects/{project}/databases/{database}/documents`. */
export function databaseFromDocumentsPath(name: string | null | undefined, field: string): DatabaseRef {
  const match = UNDER_DATABASE.exec(name ?? '');
  if (!match) throw invalidName(name, field, 'projects/{project_id}/databases/{database_id}/documents[/...]');
  return { projectId: match[1], databaseId: match[2] };
}

function invalidName(name: string | null | undefined, field: string, expected: string): RpcError {
  if (!name) return new RpcError(Code.INVALID_ARGUMENT, `Missing required field "${field}" (expected ${expected})`);
  return new RpcError(Code.INVALID_ARGUMENT, `Invalid resource name "${name}" in field "${field}": expected ${expected}`);
}
