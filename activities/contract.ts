/** The page activity's contract lives with the other shapes that cross into the worker. */
export * from '../contract/page-activity';
