/** The IDs and names shared by client and worker live in the contract. */
export * from '../contract/ids';
