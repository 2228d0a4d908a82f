/** Handlers take the time from a Clock so tests can control it. */
export type Clock = () => Date;
export const systemClock: Clock = () => new Date();
