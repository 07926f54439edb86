'use strict'
// secretkit/rotation: Secrets Manager rotation handlers for AWS Lambda,
// written once in Rust (the secretkit-rotation crate; ROTATION.md). Deploy
// one as a rotation function's handler:
//
//   exports.handler = require('secretkit/rotation').postgresql.singleUser
//
// Each call runs one step (createSecret, setSecret, testSecret,
// finishSecret) of the rotation the event names; a failed step rejects with
// its SecretkitError, so the service retries it and AWSCURRENT stays as it
// was. PASSWORD_LENGTH and EXCLUDE_CHARACTERS set the password policy.

const native = require('./native.js')
const { _fromNative: fromNative } = require('./index.js')

function handler(strategy) {
  return async function rotate(event) {
    try {
      await native.rotate(JSON.stringify(event), strategy)
    } catch (err) {
      throw fromNative(err)
    }
  }
}

const postgresql = {
  /** The secret's own user changes its password. */
  singleUser: handler('single_user'),
  /** `user` and `user_clone` take turns; the secret's `masterarn` names the secret of a user that may manage both. */
  alternatingUsers: handler('alternating_users'),
}

module.exports = { postgresql }
