# Hot reload (make apply HOT_RELOAD=1): LocalStack runs a function whose code is bucket `hot-reload`
# with key = a host folder straight from that folder, so an edit is live at the next invocation. The
# bucket is LocalStack's marker, not a bucket: nothing creates it. The layer stays as it is (native
# mode applies it; Docker mode gets the dependencies from a mounted folder, see docs/docker-mode.md).
locals {
  hot_reload = var.hot_reload_dir != ""

  function_code = { for name in local.function_names : name => local.hot_reload ? {
    bucket   = "hot-reload"
    key      = var.hot_reload_dir
    zip_path = null
    } : {
    # The bucket's name (known when planning; the object's bucket is its id, known only after
    # apply) and the object's key, which makes each function wait for its upload.
    bucket   = aws_s3_bucket.artifacts.bucket
    key      = aws_s3_object.function[name].key
    zip_path = local.function_zip[name]
  } }
}
