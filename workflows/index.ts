/** The workflows the worker registers. */
export { exportResource } from './export-resource';
export { accountCoordinator } from './account-coordinator';
