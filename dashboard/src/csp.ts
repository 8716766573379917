/**
 * Imported first by main.ts. zod compiles fast parsers with `new Function` unless told not to, and
 * even its probe for that is a CSP violation under `script-src 'self'`: parse without it.
 */
import * as z from 'zod';

z.config({ jitless: true });
