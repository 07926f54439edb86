"""Secrets Manager rotation handlers, written once in Rust (the
``secretkit-rotation`` crate; ROTATION.md). Deploy one as a rotation
function's handler:

    secretkit.rotation.postgresql.single_user        # one user changes its password
    secretkit.rotation.postgresql.alternating_users  # user and user_clone take turns

The function needs the Secrets Manager permissions of a rotation function
(DescribeSecret, GetSecretValue, PutSecretValue, UpdateSecretVersionStage,
GetRandomPassword) and a network path to the database. ``PASSWORD_LENGTH``
and ``EXCLUDE_CHARACTERS`` set the password policy.
"""
