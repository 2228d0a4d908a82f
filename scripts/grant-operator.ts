/**
 * Makes a user an operator, or takes it back: sets the `operator` custom claim, which only the server can set
 * (clients cannot write custom claims). Operators may call `eraseUser` (P12).
 *
 *   npx tsx scripts/grant-operator.ts <uid> --project <project-id> [--revoke]
 *
 * Credentials: Application Default Credentials with the Firebase Authentication Admin role
 * (`gcloud auth application-default login`, or GOOGLE_APPLICATION_CREDENTIALS); with FIREBASE_AUTH_EMULATOR_HOST
 * set, the local Auth emulator instead. The change reaches the user's ID token at its next refresh; revoking
 * also revokes their refresh tokens, and `eraseUser` re-reads the claim from Auth on every call, so a revoked
 * operator is refused at once.
 */
import { initializeApp } from 'firebase-admin/app';
import { getAuth, type Auth } from 'firebase-admin/auth';
import { OPERATOR_CLAIM } from '../functions/src/accounts/account-auth';

/** Sets or clears the operator claim, keeping the user's other custom claims; returns the claims now set. */
export async function setOperator(auth: Auth, uid: string, operator: boolean): Promise<Record<string, unknown>> {
  const user = await auth.getUser(uid);
  const claims: Record<string, unknown> = { ...(user.customClaims ?? {}) };
  if (operator) claims[OPERATOR_CLAIM] = true;
  else delete claims[OPERATOR_CLAIM];
  await auth.setCustomUserClaims(uid, claims);
  if (!operator) await auth.revokeRefreshTokens(uid);
  return claims;
}

function usage(): never {
  console.error('usage: npx tsx scripts/grant-operator.ts <uid> --project <project-id> [--revoke]');
  process.exit(2);
}

async function main(args: string[]): Promise<void> {
  const revoke = args.includes('--revoke');
  const projectFlag = args.indexOf('--project');
  const projectId = projectFlag >= 0 ? args[projectFlag + 1] : process.env.GOOGLE_CLOUD_PROJECT;
  const positional = args.filter((arg, i) => !arg.startsWith('--') && (projectFlag < 0 || i !== projectFlag + 1));
  if (positional.length !== 1 || !projectId) usage();
  const [uid] = positional;
  const claims = await setOperator(getAuth(initializeApp({ projectId })), uid, !revoke);
  console.log(`${revoke ? 'revoked operator from' : 'granted operator to'} ${uid} in ${projectId}; custom claims now ${JSON.stringify(claims)}`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
