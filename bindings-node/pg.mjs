// ESM entry of secretkit/pg: the same objects as the CommonJS entry.
import cjs from './pg.js'

export const { createPool, SecretPool, isAuthFailure } = cjs
export default cjs
