// Compiles only if secretkit/rotation's types (rotation.d.ts) describe the handlers.
import { postgresql, type RotationEvent } from 'secretkit/rotation'

const event: RotationEvent = { SecretId: 'arn:aws:secretsmanager:us-east-1:1:secret:x', ClientRequestToken: 't', Step: 'createSecret' }
const done: Promise<void> = postgresql.singleUser(event)
const alternating: Promise<void> = postgresql.alternatingUsers({ ...event, Step: 'finishSecret' }, {})
void done
void alternating
