/** Free ports for test servers: the one implementation lives with the dev-server launcher. */
export { freePort } from '../../devserver';
