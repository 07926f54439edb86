// ESM entry of secretkit/rotation: the same objects as the CommonJS entry.
import cjs from './rotation.js'

export const { postgresql } = cjs
export default cjs
