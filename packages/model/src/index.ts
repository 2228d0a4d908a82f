export * from './paths';
export * from './common';
export * from './org';
export * from './crm';
export * from './user';
export * from './membership';
export * from './billing';
export * from './privacy';
