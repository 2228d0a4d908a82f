/** A clock a test moves by hand; handlers read it through their `clock` dependency. */
export function manualClock(start: Date): { clock: () => Date; advance: (ms: number) => void; set: (date: Date) => void } {
  let now = start.getTime();
  return { clock: () => new Date(now), advance: (ms) => (now += ms), set: (date) => (now = date.getTime()) };
}
