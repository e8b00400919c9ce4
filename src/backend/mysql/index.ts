export { MysqlBackend } from './mysql-backend.js';
