# Rotation of the example's database secret by the secretkit handler in
# rotation.py (ROTATION.md). Not applied by the tests: moto cannot invoke a
# Lambda here, so the tests send the service's four events themselves.
# Inputs this snippet expects from the rest of the configuration:
#   aws_secretsmanager_secret.db        the secret (engine, host, port, username, password, dbname)
#   aws_iam_role.rotation               the function's role (policy below)
#   var.subnet_ids, var.security_group_ids   where the function reaches the database
#   data.archive_file.rotation          this directory zipped with the secretkit wheel installed

resource "aws_lambda_function" "rotation" {
  function_name    = "myapp-db-rotation"
  role             = aws_iam_role.rotation.arn
  runtime          = "python3.12"
  handler          = "rotation.handler"
  filename         = data.archive_file.rotation.output_path
  source_code_hash = data.archive_file.rotation.output_base64sha256
  timeout          = 30
  environment {
    variables = {
      PASSWORD_LENGTH    = "32"
      EXCLUDE_CHARACTERS = ":/@\"'\\`$ "
    }
  }
  vpc_config {
    subnet_ids         = var.subnet_ids
    security_group_ids = var.security_group_ids
  }
}

# Secrets Manager may invoke it, for this secret only.
resource "aws_lambda_permission" "secretsmanager" {
  statement_id  = "AllowSecretsManager"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.rotation.function_name
  principal     = "secretsmanager.amazonaws.com"
  source_arn    = aws_secretsmanager_secret.db.arn
}

resource "aws_iam_role_policy" "rotation" {
  role = aws_iam_role.rotation.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect = "Allow"
        Action = [
          "secretsmanager:DescribeSecret",
          "secretsmanager:GetSecretValue",
          "secretsmanager:PutSecretValue",
          "secretsmanager:UpdateSecretVersionStage",
        ]
        Resource = aws_secretsmanager_secret.db.arn
      },
      { Effect = "Allow", Action = "secretsmanager:GetRandomPassword", Resource = "*" },
    ]
  })
}

resource "aws_secretsmanager_secret_rotation" "db" {
  secret_id           = aws_secretsmanager_secret.db.id
  rotation_lambda_arn = aws_lambda_function.rotation.arn
  rotation_rules {
    automatically_after_days = 30
  }
}
