// Types of secretkit/rotation (rotation.js).

/** The event Secrets Manager sends a rotation function. */
export interface RotationEvent {
  SecretId: string
  ClientRequestToken: string
  Step: 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret'
}

export type RotationHandler = (event: RotationEvent, context?: unknown) => Promise<void>

export declare const postgresql: {
  /** The secret's own user changes its password. */
  singleUser: RotationHandler
  /** `user` and `user_clone` take turns; `masterarn` in the secret names the secret of a user that may manage both. */
  alternatingUsers: RotationHandler
}
