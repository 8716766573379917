/**
 * Exponential reconnect backoff with optional jitter. The formula lives with the relay machine
 * (machines/backoff.ts), whose `backoff` delay it is: machines/ imports nothing from src/.
 */
export { backoffDelay, type BackoffOptions } from '../../machines/backoff.js';
