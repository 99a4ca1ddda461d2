// @rjsf/core's getTestRegistry() (for RJSF's own tests, unused here) imports @rjsf/validator-ajv8, which
// compiles schemas with `new Function` and is not installed. build.mjs aliases that import to this module.
export default undefined;
