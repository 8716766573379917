/**
 * Exponential reconnect backoff with optional jitter. The formula lives with the machines whose
 * delay it is (machines/backoff.ts): machines/ imports nothing from src/.
 */
export { backoffDelay, type BackoffOptions } from '../../machines/backoff.js';
