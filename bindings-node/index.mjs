// ESM entry: the same objects as the CommonJS entry, so `instanceof` agrees.
import cjs from './index.js'

export const { Client, Secret, SecretkitError, parseReference, runWithIdentity } = cjs
export default cjs
