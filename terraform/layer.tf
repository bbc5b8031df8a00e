locals {
  layer_zip = "${var.artifacts_dir}/layer-${var.architecture}.zip"
  bundled   = var.layer_delivery == "bundle"

  # TLS to the database: verified against the RDS CA on AWS; on LocalStack libpq's default as before.
  db_sslmode         = var.db_sslmode != null ? var.db_sslmode : (local.on_localstack ? null : "verify-full")
  db_verifies_server = startswith(coalesce(local.db_sslmode, "unset"), "verify-")
  db_tls_environment = merge(
    local.db_sslmode == null ? {} : { DB_SSLMODE = local.db_sslmode },
    local.db_verifies_server ? { DB_SSLROOTCERT = var.db_ssl_root_cert } : {},
  )

  # Shared by every function: credentials come from Secrets Manager, never from the environment.
  db_environment = merge(local.db_tls_environment, {
    DB_SECRET_ID = aws_secretsmanager_secret.db.arn
    # Fail at import if the layer's compiled psycopg does not load, instead of falling back to a local libpq.
    PSYCOPG_IMPL = "binary"
  })

  # Attached layer, or nothing when each zip carries the dependencies itself.
  layers = [for layer in aws_lambda_layer_version.deps : layer.arn]

  # Every lambdas/<name>/handler.py is a function scripts/build.py zips.
  function_names = [for handler in fileset("${path.module}/../lambdas", "*/handler.py") : dirname(handler)]
  function_zip   = { for name in local.function_names : name => local.bundled ? "${var.artifacts_dir}/${name}-bundled-${var.architecture}.zip" : "${var.artifacts_dir}/${name}.zip" }
}

resource "aws_lambda_layer_version" "deps" {
  count = local.bundled ? 0 : 1

  layer_name               = "${var.name_prefix}-deps"
  description              = "psycopg (binary), powertools, pydantic and the shared labcore package"
  s3_bucket                = aws_s3_object.layer[0].bucket
  s3_key                   = aws_s3_object.layer[0].key
  source_code_hash         = filebase64sha256(local.layer_zip)
  compatible_runtimes      = ["python3.13"]
  compatible_architectures = [var.architecture]
}
