/** The value, or a failure naming what is missing: what a test writes instead of a non-null assertion. */
export function present<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Error(`${what} is missing`);
  return value;
}
