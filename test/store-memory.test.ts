/** The in-memory store against the JobStore conformance suite. */
import { memoryStore } from '../src/store/memory.js';
import { describeStoreContract } from './store-contract.js';

describeStoreContract('memory', async () => ({ store: memoryStore(), cleanup: async () => {} }));
