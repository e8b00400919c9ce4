export { PostgresBackend } from './postgres-backend.js';
