# Database credentials of the Lambdas' least-privilege role, as RDS would store them.
resource "aws_secretsmanager_secret" "db" {
  name                    = "${var.name_prefix}/db-app"
  description             = "Postgres credentials of the Lambdas' application role"
  recovery_window_in_days = 0
}

resource "aws_secretsmanager_secret_version" "db" {
  secret_id = aws_secretsmanager_secret.db.id
  secret_string = jsonencode({
    engine   = "postgres"
    host     = var.db_host
    port     = var.db_port
    username = var.db_app_user
    password = var.db_app_password
    dbname   = var.db_name
  })
}

data "aws_iam_policy_document" "read_db_secret" {
  statement {
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.db.arn]
  }
}
