/**
 * `workbus/bridge/dashboard`: the live dashboard's server, for Node. Apart from
 * `workbus/bridge`, which bundles for a browser as it is.
 */
export { serveDashboard, type DashboardOptions, type DashboardServer } from './server.js';
