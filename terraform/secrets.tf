# Database credentials of the Lambdas' least-privilege role, as RDS would store them.
resource "aws_secretsmanager_secret" "db" {
  name                    = "${var.name_prefix}/db-app"
  description             = "Postgres credentials of the Lambdas' application role"
  recovery_window_in_days = 0
}

locals {
  # The known lab password only where variables.tf allows it (LocalStack); AWS requires one.
  db_app_password = var.db_app_password == null ? "outbox_app" : var.db_app_password
}

resource "aws_secretsmanager_secret_version" "db" {
  secret_id = aws_secretsmanager_secret.db.id
  secret_string = jsonencode({
    engine   = "postgres"
    host     = var.db_host
    port     = var.db_port
    username = var.db_app_user
    password = local.db_app_password
    dbname   = var.db_name
  })

  lifecycle {
    precondition {
      # The functions would fail every connection: catch a missing bundle at plan, not at first request.
      condition     = !local.db_verifies_server || startswith(var.db_ssl_root_cert, "/") || fileexists("${path.module}/../lambdas/labcore/${var.db_ssl_root_cert}")
      error_message = "db_sslmode ${coalesce(local.db_sslmode, "unset")} verifies the server, but lambdas/labcore/${var.db_ssl_root_cert} does not exist: put the RDS CA bundle there before make build (docs/terraform-aws.md), or set db_ssl_root_cert."
    }
  }
}

data "aws_iam_policy_document" "read_db_secret" {
  statement {
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.db.arn]
  }
}
