// Everything the worker registers. Keep named exports only (workflow bundler entry point).
export { applicationWorkflow } from './application';
