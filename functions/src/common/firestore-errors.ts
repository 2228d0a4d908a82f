/** gRPC ALREADY_EXISTS: Firestore's answer to the create of a document that exists. */
const ALREADY_EXISTS = 6;

/** Whether `error` is Firestore refusing to create a document because it exists. */
export function isAlreadyExists(error: unknown): boolean {
  return (error as { code?: unknown }).code === ALREADY_EXISTS;
}
