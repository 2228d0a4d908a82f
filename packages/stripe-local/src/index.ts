export * from './server';
export { trigger, triggerEvents, type TriggerOptions } from './triggers';
export { renderForVersion } from './versions';
